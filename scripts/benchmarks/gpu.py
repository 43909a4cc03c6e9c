"""gpu: the lightning section on CUDA, then bf16 mixed precision and ``torch.compile`` in a CNN fit epoch.

The training data sit on the device and batches are sliced there (``benchmarks/loops.py``); without a
CUDA device every row says "not measured".
"""

import torch

from . import fit
from .harness import NOT_MEASURED, Settings, compare, figure, interleave
from .loops import Recipe, fit_epoch

ROWS = ("Lightning fit epoch on CUDA, FCN / CNN / LSTM (data kept on the device)",
        "bf16 mixed precision (--trainer.precision=bf16-mixed) vs 32-true, CNN epoch",
        "torch.compile vs eager, CNN epoch")


def run(settings: Settings, device="cuda") -> list[dict]:
    if torch.device(device).type != "cuda" or not torch.cuda.is_available():
        return [figure(name, f"{NOT_MEASURED} (no CUDA device on this machine)") for name in ROWS]
    rows = [dict(row, name=f"CUDA: {row['name']}") for row in fit.run(settings, device)]
    cnn, steps = Recipe("cnn", "--trainer.max_epochs=1", device=device), settings.steps["cnn"]
    s = interleave({"32-true": fit_epoch(cnn, steps, "32-true"), "bf16-mixed": fit_epoch(cnn, steps, "bf16-mixed")},
                   settings.repeats_slow, settings.warmup)
    rows.append(compare("CNN fit epoch, bf16-mixed vs 32-true", ("32-true", s["32-true"]),
                        ("bf16-mixed", s["bf16-mixed"])))
    s = interleave({"eager": fit_epoch(cnn, steps), "compiled": fit_epoch(cnn, steps, compile_model=True)},
                   settings.repeats_slow, max(settings.warmup, 1))
    rows.append(compare("CNN fit epoch, torch.compile(model) vs eager", ("eager", s["eager"]),
                        ("compiled", s["compiled"]), note="compiled in the warm-up run; the timed runs reuse its code"))
    return rows
