"""SGD — the "Back propagation" and "Optimizer" slides: ``W ← W − η ∂L/∂W``.

The slide's rule is the last line of ``_update``; momentum, dampening, weight decay, Nesterov and
maximize come before it in torch's order, so that ``SGD`` is bit for bit
``torch.optim.SGD(..., foreach=False)``, its torch twin (``tests/test_optimizer.py`` checks every
option with ``torch.equal``). Per step, with gradient ``g = ∂L/∂W`` (``-g`` when maximizing):

    g ← g + λ·W                            weight decay λ (an L2 penalty λ/2·‖W‖²)
    b ← g on the first step, else μ·b + (1 − τ)·g     momentum μ, dampening τ
    g ← g + μ·b if nesterov else b
    W ← W − η·g

The slide's calls work as written; ``update`` tells them apart by its second argument:

    optimizer = SGD(0.001)                  a learning rate alone: it takes the weights update is given
    W = optimizer.update(W, gradients)      gradients shaped like W: returns W − η·gradients, changes nothing
    optimizer.update(model.W, loss)         a loss (a 0-dim tensor that carries a graph): back-propagate
    optimizer.update([layer1, layer2], loss)    it to the given weights, then one step on each of them

Anything else (a loss read out with ``loss.item()``, gradients of another shape) is one sentence.
"""

import math
from collections.abc import Iterable

import torch
from torch import nn
from torch.optim import Optimizer

# torch.optim.SGD's message prefix for each option, and an example value to suggest.
_OPTIONS = {
    "lr": ("Invalid learning rate", "lr=0.1"),
    "momentum": ("Invalid momentum value", "momentum=0.9"),
    "weight_decay": ("Invalid weight_decay value", "weight_decay=5e-4"),
    "dampening": ("Invalid dampening value", "dampening=0"),
}


def _check_option(key: str, value) -> None:
    """torch refuses a negative lr, momentum or weight_decay, and lets NaN and infinity through: not here."""
    signed = key != "dampening"  # torch does not bound the dampening
    if (signed and value < 0.0) or not math.isfinite(float(value)):
        prefix, example = _OPTIONS[key]
        raise ValueError(f"{prefix}: {value} (expected a finite {key}{' >= 0' if signed else ''}; pass e.g. {example})")


def _describe(x) -> str:
    if isinstance(x, torch.Tensor):
        return f"a tensor of shape {tuple(x.shape)}{' that carries a graph' if x.requires_grad else ''}"
    return f"a {type(x).__name__}" + (f" of {len(x)}" if isinstance(x, (list, tuple)) else "")


class SGD(Optimizer):
    """Stochastic gradient descent; the constructor is ``torch.optim.SGD``'s, or the slide's ``SGD(lr)``."""

    def __init__(
        self,
        params=None,
        lr: float | torch.Tensor | None = None,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float | torch.Tensor = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ):
        if isinstance(params, (int, float)) and not isinstance(params, bool):  # the slide's new SGD(0.001)
            if lr is not None:
                raise TypeError(f"SGD expected one learning rate, found SGD({params}, lr={lr}); pass SGD({params}) "
                                f"or SGD(model.parameters(), lr={lr}).")
            params, lr = None, params
        lr = 1e-3 if lr is None else lr  # torch.optim.SGD's default
        # torch.optim.SGD's checks, types and message prefixes, then the ones it lacks (NaN, infinity).
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        options = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, dampening=dampening)
        for key in _OPTIONS:
            _check_option(key, options[key])
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                "Nesterov momentum requires a momentum and zero dampening "
                "(set momentum > 0 and dampening=0, or nesterov=False)"
            )
        if fused or differentiable:
            raise ValueError(
                "dlref.SGD computes one parameter at a time as on the slide; found fused=True or "
                "differentiable=True: use torch.optim.SGD for those."
            )
        self.takes_weights = params is None  # SGD(lr): the weights come with each update
        # The same keys as torch's param groups, so state dicts load either way.
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
            maximize=maximize, foreach=foreach, differentiable=differentiable, fused=fused,
        )
        super().__init__([{"params": []}] if params is None else params, defaults)

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)  # fills in the defaults
        try:  # a group's own lr, momentum … are checked like the constructor's
            for key in _OPTIONS:
                _check_option(key, self.param_groups[-1][key])
        except ValueError:
            self.param_groups.pop()
            raise

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for W in group["params"]:
                if W.grad is not None:  # a parameter the loss did not reach is left as it is
                    self._update(W, W.grad, group)
        return loss

    def _update(self, W: torch.Tensor, grad: torch.Tensor, group: dict) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        weight_decay, nesterov = group["weight_decay"], group["nesterov"]
        if isinstance(lr, torch.Tensor) and lr.dim() != 0:
            lr = lr.squeeze()
        g = -grad if group["maximize"] else grad  # ∂L/∂W, or its opposite when maximizing
        if weight_decay != 0:
            g = g.add(W, alpha=weight_decay)  # ∂/∂W of L + λ/2·‖W‖²
        if momentum != 0:
            state = self.state[W]
            b = state.get("momentum_buffer")
            if b is None:
                b = state["momentum_buffer"] = g.detach().clone()
            else:
                b.mul_(momentum).add_(g, alpha=1 - dampening)
            g = g.add(b, alpha=momentum) if nesterov else b
        W.add_(g, alpha=-lr)  # W ← W − η·g

    def update(self, W, gradients_or_loss):
        """The slide's ``update`` (module docstring): ``W − η·gradients``, or back-propagate a loss and step."""
        loss = gradients_or_loss
        if isinstance(loss, torch.Tensor) and loss.dim() == 0 and loss.requires_grad:
            weights = self._hold(W)
            self.zero_grad()  # every gradient this optimizer holds: only this loss's count
            loss.backward(inputs=weights)  # ∂L/∂W for each given W
            self.step()  # W ← W − η ∂L/∂W
            return None
        return self._rule(W, gradients_or_loss)

    def _rule(self, W, gradients):
        if isinstance(W, torch.Tensor) and isinstance(gradients, torch.Tensor) and gradients.shape == W.shape:
            held = [g for g in self.param_groups if any(p is W for p in g["params"])]
            return W - (held or self.param_groups)[0]["lr"] * gradients  # W − η·gradients, a new tensor
        pairs = isinstance(W, (list, tuple)) and isinstance(gradients, (list, tuple)) and len(W) == len(gradients)
        if pairs and all(isinstance(w, torch.Tensor) for w in W):  # update(model.W, torch.autograd.grad(…))
            return [self._rule(w, g) for w, g in zip(W, gradients)]
        hint = ("pass the loss tensor itself, not loss.item()" if isinstance(gradients, (int, float))
                else "compute the loss with gradients enabled (not under torch.no_grad, not detached)"
                if isinstance(gradients, torch.Tensor) and gradients.dim() == 0
                else "call optimizer.update(model.W, loss) to train, or update(W, gradients) for W − η·gradients")
        raise TypeError(
            f"SGD.update expected (W, gradients shaped like W) or (weights, a 0-dim loss that carries a graph), "
            f"found ({_describe(W)}, {_describe(gradients)}); {hint}."
        )

    def _hold(self, W) -> list[torch.Tensor]:
        """The tensors behind a tensor, a layer, a model or a list of them; those this optimizer holds."""
        items = [W] if isinstance(W, (torch.Tensor, nn.Module)) else list(W) if isinstance(W, Iterable) else [W]
        if not all(isinstance(item, (torch.Tensor, nn.Module)) for item in items):
            raise TypeError(f"SGD.update expected weights (a tensor, a layer, a model or a list of them), found "
                            f"{_describe(W)}; call optimizer.update(model.W, loss) or update([layer1, layer2], loss).")
        tensors = [p for item in items for p in ([item] if isinstance(item, torch.Tensor) else item.parameters())]
        weights = list(dict.fromkeys(p for p in tensors if p.requires_grad))  # frozen ones left out, each once
        if not weights:
            raise ValueError(f"SGD.update expected weights that require gradients, found none in {_describe(W)}; "
                             "pass model.W, the layers or the model that computed the loss.")
        held = {id(p) for group in self.param_groups for p in group["params"]}
        missing = [p for p in weights if id(p) not in held]
        if missing and not self.takes_weights:
            raise ValueError(
                f"SGD.update expected weights this optimizer holds, found {len(missing)} it was not given; build it "
                "with SGD(model.parameters(), lr=...) for the same model, or SGD(lr) to take the weights it is given."
            )
        if missing:  # SGD(lr): adopt them, with the first group's lr, momentum …
            group = {k: v for k, v in self.param_groups[0].items() if k != "params"}
            if not self.param_groups[0]["params"]:
                self.param_groups.pop(0)  # the empty group SGD(lr) started with
            self.add_param_group({**group, "params": missing})
        return weights
