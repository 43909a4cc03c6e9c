"""lightning: a ``Trainer.fit`` epoch against the plain loop, FCN / CNN / LSTM, each on its recipe.

Lightning: ``Trainer.fit`` of the recipe's ``Classifier`` (torchmetrics accuracy and mean loss, logged
once an epoch), its training loop timed from ``on_train_start`` to ``on_train_end``. Plain: ``dlref.train``.
Both with the recipe's weights, batches, optimizer, schedule and clipping (``benchmarks/loops.py``).
"""

from .harness import Settings, compare, interleave
from .loops import Recipe, fit_epoch, plain_epoch

TARGETS = {"fcn": 1.15, "cnn": 1.05, "lstm": 1.05}  # at most Lightning / plain (paired), per configs/<network>.yaml


def run(settings: Settings, device="cpu") -> list[dict]:
    rows = []
    for network, target in TARGETS.items():
        recipe, steps = Recipe(network, "--trainer.max_epochs=1", device=device), settings.steps[network]
        seconds = interleave({"plain loop": plain_epoch(recipe, steps), "Lightning": fit_epoch(recipe, steps)},
                             settings.repeats if network == "fcn" else settings.repeats_slow, settings.warmup)
        rows.append(compare(f"{network.upper()} {'part epoch' if steps else 'epoch'} ({recipe.steps(steps)} steps)",
                            ("plain loop", seconds["plain loop"]), ("Lightning", seconds["Lightning"]), target,
                            "Trainer.fit training loop (on_train_start → on_train_end: the epoch, the epoch-end "
                            "metrics), Classifier with torchmetrics accuracy and mean loss logged per epoch; plain: "
                            "dlref.train; same weights and batches, each recipe's optimizer, schedule and clipping"
                            if network == "fcn" else ""))
    return rows
