"""The optimizer and the learning-rate schedule a recipe names, for Lightning and the plain loop alike.

``Classifier`` and ``scripts/train_scratch.py`` both check (``check``) and build them here from the same
hyper-parameters (a config's ``model:`` section), so the two loops update the weights the same way. Torch only.
"""

import math

import torch

import dlref

OPTIMIZERS = {
    "sgd": dlref.SGD,  # the slide's W ← W − η ∂L/∂W, bit-exact torch.optim.SGD
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "adadelta": torch.optim.Adadelta,
    "rmsprop": torch.optim.RMSprop,
}
SCHEDULES = ("none", "onecycle", "cosine", "step")
# Each number's rule, in words and as a test, and an example to suggest.
NUMBERS = {
    "lr": ("> 0", 0.05, lambda v: v > 0),
    "momentum": (">= 0", 0.9, lambda v: v >= 0),
    "weight_decay": (">= 0", 5e-4, lambda v: v >= 0),
    "gamma": ("> 0", 0.7, lambda v: v > 0),
    "pct_start": ("strictly between 0 and 1", 0.3, lambda v: 0 < v < 1),
}


def check(h) -> None:
    """One sentence for the first setting of ``h`` (a ``Classifier``'s hyper-parameters) that names no optimizer or
    schedule here, or that no optimizer or schedule could run with."""
    if h["optimizer"] not in OPTIMIZERS:
        raise ValueError(f"Classifier expected optimizer in {sorted(OPTIMIZERS)}, found {h['optimizer']!r}; pick one "
                         "of them.")
    if h["schedule"] not in SCHEDULES:
        raise ValueError(f"Classifier expected schedule in {SCHEDULES}, found {h['schedule']!r}; pick one of them.")
    for name, (rule, example, ok) in NUMBERS.items():
        value = h[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not ok(value):
            raise ValueError(f"Classifier expected a finite {name} {rule}, found {name}={value!r}; "
                             f"pass e.g. --model.{name}={example:g}.")
    if not isinstance(h["step_size"], int) or h["step_size"] < 1:
        raise ValueError(f"Classifier expected step_size >= 1 (epochs between rate drops), found {h['step_size']!r}; "
                         "pass e.g. --model.step_size=1.")
    if h["nesterov"] and (h["optimizer"] != "sgd" or h["momentum"] <= 0):
        raise ValueError(f"Classifier expected nesterov=true only with optimizer sgd and momentum > 0, found "
                         f"optimizer={h['optimizer']}, momentum={h['momentum']}; pass --model.momentum=0.9 or "
                         "--model.nesterov=false.")


def make_optimizer(parameters, h) -> torch.optim.Optimizer:
    """The optimizer ``h`` (a ``Classifier``'s hyper-parameters) names, for Lightning and the plain loop alike."""
    kwargs = dict(lr=h["lr"], weight_decay=h["weight_decay"])
    if h["optimizer"] in ("sgd", "rmsprop"):
        kwargs["momentum"] = h["momentum"]
    if h["optimizer"] == "sgd":
        kwargs["nesterov"] = h["nesterov"]
    return OPTIMIZERS[h["optimizer"]](parameters, **kwargs)


def make_schedule(optimizer, h, total_steps: int, epochs: int):
    """``(scheduler, "step" | "epoch")`` for ``h["schedule"]``, or ``(None, None)`` for a constant rate."""
    if h["schedule"] == "onecycle":  # per step: up to lr over the first pct_start of the steps, then down
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=h["lr"], total_steps=total_steps,
                                                   pct_start=h["pct_start"]), "step"
    if h["schedule"] == "cosine":  # per epoch, to 0 at the last one
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs), "epoch"
    if h["schedule"] == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=h["step_size"], gamma=h["gamma"]), "epoch"
    return None, None
