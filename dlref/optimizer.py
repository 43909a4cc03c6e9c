"""SGD — the "Optimizer" slide: ``W ← W − η ∂L/∂W``.

The slide's rule is the last line of ``_update``; momentum, dampening, weight decay, Nesterov and
maximize come before it in torch's order, so that ``SGD`` is bit for bit
``torch.optim.SGD(..., foreach=False)``, its torch twin (``tests/test_optimizer.py`` checks every
option with ``torch.equal``). Per step, with gradient ``g = ∂L/∂W`` (``-g`` when maximizing):

    g ← g + λ·W                            weight decay λ (an L2 penalty λ/2·‖W‖²)
    b ← g on the first step, else μ·b + (1 − τ)·g     momentum μ, dampening τ
    g ← g + μ·b if nesterov else b
    W ← W − η·g

The slide's ``optimizer = new SGD(0.001)`` is ``SGD(0.001)``: a learning rate alone, the weights given later to
``update`` (``dlref/backpropagation.py``). A NaN or infinite option, which torch accepts, is refused.
"""

import torch
from torch.optim import Optimizer

from . import checks
from .backpropagation import Update


class SGD(Update, Optimizer):
    """Stochastic gradient descent; the constructor is ``torch.optim.SGD``'s, or the slide's ``SGD(lr)``; the slide's
    ``update`` comes from ``Update`` (``dlref/backpropagation.py``)."""

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
        checks.sgd_arguments(params, lr, momentum, dampening, weight_decay, nesterov, fused, differentiable)
        if isinstance(params, (int, float)) and not isinstance(params, bool):  # the slide's new SGD(0.001)
            params, lr = None, params
        lr = 1e-3 if lr is None else lr  # torch.optim.SGD's default
        self.takes_weights = params is None  # SGD(lr): the weights come with each update
        # The same keys as torch's param groups, so state dicts load either way.
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
            maximize=maximize, foreach=foreach, differentiable=differentiable, fused=fused,
        )
        super().__init__([{"params": []}] if params is None else params, defaults)

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

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)  # fills in the defaults
        checks.sgd_group(self.param_groups)  # its own lr, momentum … as the constructor's; a refused one is dropped
