"""Guards of the "Optimizer" and "Back propagation" slides: ``SGD``'s options, and the sentences of ``update``.

``SGD`` checks what ``torch.optim.SGD`` checks, with its message prefixes, then what it lets through (NaN,
infinity), for the constructor and every param group. ``update``'s sentences name what it was given and what it takes.
"""

import math
from contextlib import contextmanager

import torch

# torch.optim.SGD's message prefix for each option, and an example value to suggest.
_OPTIONS = {"lr": ("Invalid learning rate", "lr=0.1"), "momentum": ("Invalid momentum value", "momentum=0.9"),
            "weight_decay": ("Invalid weight_decay value", "weight_decay=5e-4"),
            "dampening": ("Invalid dampening value", "dampening=0")}


def sgd_option(key: str, value) -> None:
    """torch refuses a negative lr, momentum or weight_decay, and lets NaN and infinity through: not here."""
    signed = key != "dampening"  # torch does not bound the dampening
    if (signed and value < 0.0) or not math.isfinite(float(value)):
        prefix, example = _OPTIONS[key]
        raise ValueError(f"{prefix}: {value} (expected a finite {key}{' >= 0' if signed else ''}; pass e.g. {example})")


def sgd_arguments(params, lr, momentum, dampening, weight_decay, nesterov: bool, fused, differentiable) -> None:
    """``SGD``'s constructor arguments, in torch's order; ``lr=None`` is torch's default, ``1e-3``."""
    if isinstance(params, (int, float)) and not isinstance(params, bool):  # the slide's SGD(0.001)
        if lr is not None:
            raise TypeError(f"SGD expected one learning rate, found SGD({params}, lr={lr}); pass SGD({params}) "
                            f"or SGD(model.parameters(), lr={lr}).")
        lr = params
    if isinstance(lr, torch.Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    for key, value in dict(lr=lr, momentum=momentum, weight_decay=weight_decay, dampening=dampening).items():
        if key != "lr" or value is not None:  # None: torch's default
            sgd_option(key, value)
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError("Nesterov momentum requires a momentum and zero dampening "
                         "(set momentum > 0 and dampening=0, or nesterov=False)")
    if fused or differentiable:
        raise ValueError("dlref.SGD computes one parameter at a time as on the slide; found fused=True or "
                         "differentiable=True: use torch.optim.SGD for those.")


def sgd_group(param_groups: list[dict]) -> None:
    """The group just added, its own lr, momentum … checked like the constructor's; a refused group is dropped."""
    try:
        for key in _OPTIONS:
            sgd_option(key, param_groups[-1][key])
    except ValueError:
        param_groups.pop()
        raise


def _describe(x) -> str:
    if isinstance(x, torch.Tensor):
        return f"a tensor of shape {tuple(x.shape)}{' that carries a graph' if x.requires_grad else ''}"
    return f"a {type(x).__name__}" + (f" of {len(x)}" if isinstance(x, (list, tuple)) else "")


def weights(W, items: list) -> None:
    """``update``'s ``W``: a tensor, a layer, a model, or a list of them (``items``)."""
    if not all(isinstance(item, (torch.Tensor, torch.nn.Module)) for item in items):
        raise TypeError(f"SGD.update expected weights (a tensor, a layer, a model or a list of them), found "
                        f"{_describe(W)}; call optimizer.update(model.W, loss) or update([layer1, layer2], loss).")


def held(W, trainable: list, missing: list, takes_weights: bool | None) -> None:
    """Some of ``W`` require gradients, and the optimizer holds them: all of them (``dlref.SGD(params)``), some
    (a torch optimizer, ``takes_weights`` None), or any (``SGD(lr)``, which takes the weights it is given)."""
    if not trainable:
        raise ValueError(f"SGD.update expected weights that require gradients, found none in {_describe(W)}; "
                         "pass model.W, the layers or the model that computed the loss.")
    if missing and (takes_weights is False or takes_weights is None and len(missing) == len(trainable)):
        raise ValueError(f"SGD.update expected weights this optimizer holds, found {len(missing)} it was not given; "
                         "build it with SGD(model.parameters(), lr=...) for the same model, or SGD(lr) to take the "
                         "weights it is given.")


@contextmanager
def backward(trainable: list):
    """Around ``loss.backward(inputs=trainable)``: a loss back-propagated before, or one that reaches none of the
    weights (checked on the host side of autograd: no value read), is one sentence."""
    try:
        yield
    except RuntimeError as error:
        if "second time" not in str(error):
            raise
        raise RuntimeError("SGD.update expected a new loss, found one an earlier update already "
                           "back-propagated; compute it again for each update (Y = model.predict(X); "
                           "loss = LossFunction(Y, target)).") from None
    if all(w.grad is None for w in trainable):
        raise ValueError("SGD.update expected a loss computed from the weights it is given, found one that "
                         "depends on none of them; compute the loss from this model's predict(X) (a model "
                         "built again, e.g. by re-running a cell, has new weights).")


def rule_alone(group: dict) -> None:
    """``update(W, gradients)`` is ``W − η·gradients`` alone: an option it would ignore is refused."""
    extra = {k: group[k] for k in ("momentum", "weight_decay", "nesterov", "maximize") if group[k]}
    if extra:
        raise ValueError(f"SGD.update(W, gradients) is the slide's rule W − η·gradients alone, found an optimizer "
                         f"with {', '.join(f'{k}={v}' for k, v in extra.items())} that it would ignore; call "
                         "optimizer.update(model.W, loss) to use them, or build SGD(lr) for the rule alone.")


def update_error(W, gradients) -> TypeError:
    """The sentence for arguments that are neither of ``update``'s forms, with what to do for the likely slip."""
    hint = ("pass the loss tensor itself, not loss.item()" if isinstance(gradients, (int, float))
            else "compute the loss with gradients enabled (not under torch.no_grad, not detached)"
            if isinstance(gradients, torch.Tensor) and gradients.dim() == 0
            else "a loss is one number: reduce it with .mean() (the losses of dlref already do)"
            if isinstance(gradients, torch.Tensor) and gradients.requires_grad
            else "call optimizer.update(model.W, loss) to train, or update(W, gradients) for W − η·gradients")
    return TypeError(f"SGD.update expected (W, gradients shaped like W) or (weights, a 0-dim loss that carries a "
                     f"graph), found ({_describe(W)}, {_describe(gradients)}); {hint}.")
