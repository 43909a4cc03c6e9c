"""accuracy: seconds of training until the test accuracy first reaches 98% (FCN) or 99% (CNN), against the anchor.

Ours: ``configs/fcn.yaml``, ``configs/cnn.yaml`` and ``configs/cnn_fast.yaml``, each fit by Lightning
with its own settings (what ``make train MODEL=<config>`` runs, less validation and files), the test
set evaluated every quarter epoch with the clock stopped, the fit stopped at the target. The anchor:
pytorch/examples' recipe (``scripts/pytorch_examples_mnist.py``), tested after each of its epochs.
"""

import json
import sys
import time
from pathlib import Path

import lightning.pytorch as pl

import dlref

from .harness import ANCHOR, Settings, figure, run_measured, sync
from .loops import Recipe, trainer

TARGETS = {"fcn": 0.98, "cnn": 0.99, "cnn_fast": 0.99}  # config → test accuracy to reach
FAST = 20  # seconds of training in which cnn_fast.yaml is to reach its target
ANCHOR_EPOCHS = 5  # of the recipe's 14: bounds the section's time; a row says when they were not enough


class AccuracyClock(pl.Callback):
    """Seconds of training and the test accuracy, ``per_epoch`` times an epoch; stops the fit at ``target``.

    The clock stops while the test set is evaluated, so only training counts.
    """

    def __init__(self, test_batches, target: float, device, per_epoch: int = 4):
        self.test, self.target, self.device, self.per_epoch = test_batches, target, device, per_epoch
        self.seconds, self.history = 0.0, []

    def on_train_epoch_start(self, trainer, pl_module):
        steps = trainer.num_training_batches  # the test set is evaluated after these batches
        self.marks = {round(steps * k / self.per_epoch) for k in range(1, self.per_epoch + 1)}
        sync(self.device)
        self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if batch_idx + 1 not in self.marks or trainer.should_stop:
            return
        sync(self.device)
        self.seconds += time.perf_counter() - self.start
        accuracy = dlref.evaluate(pl_module.model, self.test)["accuracy"]
        epoch = trainer.current_epoch + (batch_idx + 1) / trainer.num_training_batches
        self.history.append({"epoch": round(epoch, 2), "train_seconds": self.seconds, "test_acc": accuracy})
        if accuracy >= self.target:
            trainer.should_stop = True
        self.start = time.perf_counter()


def ours(config: str, target: float, device="cpu", *options: str) -> list[dict]:
    """The quarter-epoch history of ``configs/<config>.yaml`` (with ``options``) fit until ``target``."""
    recipe = Recipe(config, *options, device=device)
    recipe.datamodule.setup("test")
    clock = AccuracyClock(recipe.datamodule.test_dataloader(), target, recipe.device)
    trainer(recipe, [clock]).fit(recipe.cli.model, datamodule=recipe.datamodule)
    return clock.history


def anchor(settings: Settings) -> tuple[list[dict], str]:
    """The anchor's epochs (seconds of training, test accuracy), run now or read from ``--anchor-from``, and how
    the run ended."""
    if settings.anchor_from:
        log, ended = Path(settings.anchor_from) / "anchor-accuracy.jsonl", "an earlier run"
    else:
        log = settings.out / "anchor-accuracy.jsonl"
        log.unlink(missing_ok=True)
        epochs = ["--epochs", "1", "--dry-run"] if settings.quick else ["--epochs", str(ANCHOR_EPOCHS)]
        code, _, _ = run_measured([sys.executable, ANCHOR, "--target", str(max(TARGETS.values())), *epochs,
                                   "--json-out", log], settings.out / "anchor-accuracy.log")
        ended = f"exit {code}" + ("; --dry-run: one batch" if settings.quick else "")
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else [], ended


def _first(history: list[dict], target: float) -> dict | None:
    return next((e for e in history if e["test_acc"] >= target), None)


def _seconds(entry: dict | None, history: list[dict]) -> str:
    if entry is None:
        epochs = history[-1]["epoch"] if history else 0
        return f"not reached in {epochs:g} epoch{'' if epochs == 1 else 's'}"
    return f"{entry['train_seconds']:.1f} s (epoch {entry['epoch']:g})"


def run(settings: Settings, device="cpu") -> list[dict]:
    theirs, ended = anchor(settings)
    quick = ["--trainer.max_epochs=1", "--trainer.limit_train_batches=8"] if settings.quick else []
    rows = []
    for config, target in TARGETS.items():
        network = config.split("_")[0].upper()  # cnn_fast.yaml is a CNN recipe
        history = ours(config, target, device, *quick)
        mine, first = _first(history, target), _first(theirs, target)
        rows.append(figure(f"{network} ({config}.yaml): seconds of training to {target:.0%} test accuracy",
                           _seconds(mine, history),
                           note="test accuracy every quarter epoch (epoch: accuracy): "
                                + ", ".join(f"{e['epoch']}: {e['test_acc']:.2%}" for e in history)))
        if config == network.lower():  # one anchor row per target
            note = ("the anchor (scripts/pytorch_examples_mnist.py): pytorch/examples' Net, optimizer, schedule, "
                    "batch size and per-sample data path, no shuffle on CPU as in the original; tested after each "
                    "epoch" + ("; its figures reused from an earlier run (--anchor-from)" if settings.anchor_from
                               else ""))
            rows.append(figure(f"pytorch/examples recipe: seconds of training to {target:.0%}",
                               _seconds(first, theirs) + ("" if first else f" ({ended})"),
                               note=note if network == "FCN" else ""))
        if mine and first:
            rows.append(figure(f"{network} ({config}.yaml) time to {target:.0%} / the recipe's",
                               f"{mine['train_seconds'] / first['train_seconds']:.2f}×"))
        if config == "cnn_fast":
            rows.append(figure(f"CNN (cnn_fast.yaml): {target:.0%} within {FAST} s of training",
                               f"{mine['train_seconds']:.1f} s" if mine else "not reached", f"≤ {FAST} s",
                               bool(mine) and mine["train_seconds"] <= FAST))
    return rows
