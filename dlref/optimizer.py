"""SGD — the "Back propagation" and "Optimizer" slides: ``W ← W − η ∂L/∂W``.

The slide's rule is the first line of ``_update``; momentum, dampening,
weight decay, Nesterov and maximize follow in torch's order, so that ``SGD``
is bit for bit ``torch.optim.SGD(..., foreach=False)`` — its torch twin
(``tests/test_optimizer.py`` checks every option with ``torch.equal``).
Per step, with gradient ``g = ∂L/∂W`` (``-g`` when maximizing):

    g ← g + λ·W                            weight decay λ (an L2 penalty λ/2·‖W‖²)
    b ← g on the first step, else μ·b + (1 − τ)·g     momentum μ, dampening τ
    g ← g + μ·b if nesterov else b
    W ← W − η·g

The slide's forms work too: ``update(W, gradients)`` returns ``W − η·gradients``
for a tensor, and ``optimizer.update([layer1, layer2, layer3], loss)`` back-
propagates ``loss`` and takes one step.
"""

from collections.abc import Iterable

import torch
from torch import nn
from torch.optim import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent; the constructor is ``torch.optim.SGD``'s."""

    def __init__(
        self,
        params,
        lr: float | torch.Tensor = 1e-3,
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
        # torch.optim.SGD's checks, types and message prefixes; the rest says what to do.
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:
            raise ValueError(
                f"Invalid learning rate: {lr} (expected lr >= 0; pass a positive step size such as lr=0.1)"
            )
        if momentum < 0.0:
            raise ValueError(
                f"Invalid momentum value: {momentum} (expected momentum >= 0, e.g. 0.9, or 0 for none)"
            )
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay} (expected weight_decay >= 0, e.g. 5e-4)")
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
        # The same keys as torch's param groups, so state dicts load either way.
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
            maximize=maximize, foreach=foreach, differentiable=differentiable, fused=fused,
        )
        super().__init__(params, defaults)

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
        """The slide's two calls.

        ``update(W, gradients)`` with tensors: the pure rule, returns ``W − η·gradients``
        (first group's ``η``) and changes nothing. ``update(layers, loss)`` with a
        layer, a model or a list of layers: zero their gradients, back-propagate
        ``loss`` and take one step.
        """
        if isinstance(W, torch.Tensor):
            return W - self.param_groups[0]["lr"] * gradients_or_loss
        layers = [W] if isinstance(W, nn.Module) else list(W) if isinstance(W, Iterable) else None
        if not layers or not all(isinstance(layer, nn.Module) for layer in layers):
            raise TypeError(
                f"SGD.update expected a tensor W or a list of layers, found {type(W).__name__}; "
                "call optimizer.update([layer1, layer2], loss) or optimizer.update(W, gradients)."
            )
        mine = {id(p) for group in self.param_groups for p in group["params"]}
        params = [p for layer in layers for p in layer.parameters()]
        if any(id(p) not in mine for p in params):
            raise ValueError(
                "SGD.update expected layers whose parameters this optimizer holds, found a parameter it "
                "was not given; build it with SGD(model.parameters(), lr=...) for the same model."
            )
        for p in params:
            p.grad = None
        gradients_or_loss.backward()
        self.step()
