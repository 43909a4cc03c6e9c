"""The optimizer and the learning-rate schedule a recipe names, for Lightning and the plain loop alike.

``Classifier.configure_optimizers`` and ``scripts/train_scratch.py`` both build them here from the same
hyper-parameters (a config's ``model:`` section), so the two loops update the weights the same way. Torch only.
"""

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
