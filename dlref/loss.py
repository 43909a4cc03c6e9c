"""Loss functions — the "Loss function" slide.

Cross-entropy ``E = -Σ_k t_k log y_k`` and mean squared error
``E = ½ Σ_k (y_k − t_k)²``, each summed over the classes ``k`` of one example
and averaged over the batch. ``y`` is ``(batch, classes)`` (or ``(classes,)``
for one example); ``t`` is one-hot of the same shape or class indices
``(batch,)`` of an integer dtype.

``cross_entropy_error`` is the slide's formula on probabilities, kept literal
for reading: ``log y`` is ``-inf`` once a probability underflows to 0. For
training use ``cross_entropy`` on logits ``x``: with ``y = softmax(x)``,
``log y_k = x_k − log Σ_j e^{x_j}`` (log-sum-exp), which never takes the log
of 0. Both agree wherever both are finite (``tests/test_loss.py``).

Each refuses the other's kind of ``y`` rather than return a wrong number (``dlref/checks/loss.py``).

Torch twins: ``F.nll_loss(torch.log(y), t)`` and ``F.cross_entropy(x, t)``;
``0.5 · F.mse_loss(y, t, reduction="sum") / batch``.
"""

from collections.abc import Callable

import torch

from . import checks
from .activations import softmax


def _as_batch(y: torch.Tensor, t: torch.Tensor, name: str, check: bool = True):
    """``y`` as ``(batch, classes)``; ``t`` as one-hot rows or as class indices ``(batch, 1)``, for ``gather``."""
    checks.loss_inputs(name, y, t, check)  # shapes; with check, the labels' range (two numbers read back)
    if y.dim() == 1:  # one example, as on the slide
        y, t = y.unsqueeze(0), t.unsqueeze(0)
    if not torch.is_floating_point(t):  # class indices (batch,) or (batch, 1)
        t = t.reshape(-1, 1).long()
    return y, t


def cross_entropy_error(y: torch.Tensor, t: torch.Tensor, check: bool = True) -> torch.Tensor:
    """The slide's ``E = -Σ_k t_k log y_k`` on probabilities ``y``, mean over the batch."""
    y, t = _as_batch(y, t, "cross_entropy_error", check)
    checks.probabilities(y, check)  # y in [0, 1], a softmax's output
    if not torch.is_floating_point(t):  # t_k = 1 for the labelled class only
        return -torch.log(y.gather(1, t)).mean()
    return -torch.xlogy(t, y).sum(dim=1).mean()  # t·log y, with 0·log 0 = 0


def log_softmax(x: torch.Tensor) -> torch.Tensor:
    """``log softmax(x)_k = x_k − log Σ_j e^{x_j}``, with the maximum subtracted (log-sum-exp)."""
    m = x.amax(dim=-1, keepdim=True).detach()  # a constant shift: the value is unchanged
    return x - m - torch.log(torch.exp(x - m).sum(dim=-1, keepdim=True))


def cross_entropy(x: torch.Tensor, t: torch.Tensor, check: bool = True) -> torch.Tensor:
    """Cross-entropy on logits ``x``: ``-Σ_k t_k log softmax(x)_k``, mean over the batch.

    The stable form to train with. Twin: ``F.cross_entropy(x, t)``. ``check=False`` skips reading the
    class indices back to range-check them (for loops that checked their labels once).
    """
    logits = x  # as given: its autograd graph tells the output of a softmax apart
    x, t = _as_batch(x, t, "cross_entropy", check)
    checks.logits(logits, x, check)  # not a softmax's output
    if not torch.is_floating_point(t):
        return -log_softmax(x).gather(1, t).mean()
    return -(t * log_softmax(x)).sum(dim=1).mean()


def mean_squared_error(y: torch.Tensor, t: torch.Tensor, check: bool = True) -> torch.Tensor:
    """The slide's ``E = ½ Σ_k (y_k − t_k)²``, mean over the batch."""
    y, t = _as_batch(y, t, "mean_squared_error", check)
    if not torch.is_floating_point(t):
        t = torch.zeros_like(y).scatter_(1, t, 1.0)  # class indices → one-hot
    return 0.5 * ((y - t) ** 2).sum(dim=1).mean()


def loss_for(model) -> Callable:
    """The cross-entropy that matches the model: on probabilities after a softmax, else on logits."""
    return cross_entropy_error if checks.output_activation(model) is softmax else cross_entropy
