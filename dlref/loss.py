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

Each expects its own kind of ``y``, and says so rather than return a wrong number: ``cross_entropy``
refuses the output of a softmax (read from the autograd graph, not from the values: no sync), and
``check_output`` refuses a model whose last layer does not match the loss, once, before a loop starts.

Torch twins: ``F.nll_loss(torch.log(y), t)`` and ``F.cross_entropy(x, t)``;
``0.5 · F.mse_loss(y, t, reduction="sum") / batch``.
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .activations import identity, softmax
from .model import last_module, output_activation


def _as_batch(y: torch.Tensor, t: torch.Tensor, name: str, check: bool = True):
    """``y`` as ``(batch, classes)``; ``t`` as one-hot rows or as indices ``(batch, 1)``.

    Checks the shapes at the door, so a mismatch is one sentence, not a broadcast error. With ``check``,
    class indices are also range-checked, which reads two numbers back from their device; training loops
    check their labels once per dataset (or first batch) instead and pass ``check=False``.
    """
    if not isinstance(y, torch.Tensor) or not isinstance(t, torch.Tensor):
        raise TypeError(
            f"{name} expected torch tensors y and t, found {type(y).__name__} and {type(t).__name__}; "
            "convert them with torch.as_tensor."
        )
    if y.dim() == 1:  # one example, as on the slide
        y, t = y.unsqueeze(0), t.unsqueeze(0)
    if y.dim() != 2:
        raise ValueError(
            f"{name} expected y of shape (batch, classes) or (classes,), found {tuple(y.shape)}; "
            "flatten the model output to one row per example."
        )
    if not torch.is_floating_point(t):  # class indices → one-hot
        if t.dim() == 2 and t.shape[1] == 1:
            t = t.squeeze(1)
        if t.shape == y.shape and y.shape[1] > 1:  # one-hot rows, stored as integers
            raise ValueError(
                f"{name} expected one-hot targets as floats, found integer ones of shape {tuple(t.shape)}; pass "
                "t.float(), or the class indices t.argmax(dim=1)."
            )
        if t.dim() != 1 or t.shape[0] != y.shape[0]:
            raise ValueError(
                f"{name} expected class indices of shape ({y.shape[0]},) to match y {tuple(y.shape)}, "
                f"found {tuple(t.shape)}; pass one label per row of y."
            )
        if check and t.numel() and (int(t.min()) < 0 or int(t.max()) >= y.shape[1]):
            raise ValueError(
                f"{name} expected class indices in 0..{y.shape[1] - 1}, found values from {int(t.min())} "
                f"to {int(t.max())}; check the labels or the number of classes of the last layer."
            )
        return y, t.long().unsqueeze(1)
    if t.shape != y.shape:
        raise ValueError(
            f"{name} expected one-hot targets shaped like y {tuple(y.shape)}, found {tuple(t.shape)}; "
            "pass one row of targets per row of y (or integer class indices)."
        )
    return y, t


def cross_entropy_error(y: torch.Tensor, t: torch.Tensor, check: bool = True) -> torch.Tensor:
    """The slide's ``E = -Σ_k t_k log y_k`` on probabilities ``y``, mean over the batch."""
    y, t = _as_batch(y, t, "cross_entropy_error", check)
    if check and y.numel() and not bool(((y >= 0) & (y <= 1)).all()):  # two numbers read back, as for the labels
        raise ValueError(
            f"cross_entropy_error expected probabilities in [0, 1] (a softmax's output), found values from "
            f"{float(y.min()):.4g} to {float(y.max()):.4g}; pass dlref.softmax(Y), or use dlref.cross_entropy on "
            "scores (logits)."
        )
    if not torch.is_floating_point(t):  # t_k = 1 for the labelled class only
        return -torch.log(y.gather(1, t)).mean()
    return -torch.xlogy(t, y).sum(dim=1).mean()  # t·log y, with 0·log 0 = 0


def log_softmax(x: torch.Tensor) -> torch.Tensor:
    """``log softmax(x)_k = x_k − log Σ_j e^{x_j}``, with the maximum subtracted (log-sum-exp)."""
    m = x.amax(dim=-1, keepdim=True).detach()  # a constant shift: the value is unchanged
    return x - m - torch.log(torch.exp(x - m).sum(dim=-1, keepdim=True))


def _probabilities(x: torch.Tensor) -> bool:
    """Whether every row of ``x`` (batch, classes ≥ 2) is in [0, 1] and sums to 1: one value read back."""
    if x.shape[1] < 2 or not x.numel():
        return False
    rows = x.detach().sum(dim=1)
    return bool(((x >= 0) & (x <= 1)).all() & ((rows - 1).abs() <= 1e-4).all())


def cross_entropy(x: torch.Tensor, t: torch.Tensor, check: bool = True) -> torch.Tensor:
    """Cross-entropy on logits ``x``: ``-Σ_k t_k log softmax(x)_k``, mean over the batch.

    The stable form to train with. Twin: ``F.cross_entropy(x, t)``. ``check=False`` skips reading the
    class indices back to range-check them (for loops that checked their labels once).
    """
    logits = x
    x, t = _as_batch(x, t, "cross_entropy", check)
    # The output of a softmax: told from the graph (no value read), or, with check, from rows of probabilities.
    if logits.grad_fn is not None and logits.grad_fn.name() == "SoftmaxBackward0" or check and _probabilities(x):
        raise ValueError(
            "cross_entropy expected logits (it applies the softmax itself), found the output of a softmax; "
            "end the model with activate=dlref.identity, or use dlref.cross_entropy_error on probabilities."
        )
    if not torch.is_floating_point(t):
        return -log_softmax(x).gather(1, t).mean()
    return -(t * log_softmax(x)).sum(dim=1).mean()


def mean_squared_error(y: torch.Tensor, t: torch.Tensor, check: bool = True) -> torch.Tensor:
    """The slide's ``E = ½ Σ_k (y_k − t_k)²``, mean over the batch."""
    y, t = _as_batch(y, t, "mean_squared_error", check)
    if not torch.is_floating_point(t):
        t = torch.zeros_like(y).scatter_(1, t, 1.0)  # class indices → one-hot
    return 0.5 * ((y - t) ** 2).sum(dim=1).mean()


def check_output(model, loss_fn, caller: str) -> None:
    """Refuse a model whose output does not match ``loss_fn``, from the layers alone (once, before a loop)."""
    last = output_activation(model)
    on_logits = loss_fn is cross_entropy or loss_fn is F.cross_entropy or isinstance(loss_fn, nn.CrossEntropyLoss)
    if on_logits and last is softmax:
        name = "dlref.cross_entropy" if loss_fn is cross_entropy else f"torch's {type(loss_fn).__name__}"
        name = "torch's F.cross_entropy" if loss_fn is F.cross_entropy else name
        raise ValueError(
            f"{caller} expected a model that returns logits for {name} (it applies the softmax "
            "itself), found a last layer with activate=softmax; build it with activate=dlref.identity, or pass "
            "dlref.cross_entropy_error, the slide's formula on probabilities."
        )
    final = last_module(model)
    activate = getattr(final, "activate", final if isinstance(final, nn.Module) else None)
    if loss_fn is cross_entropy_error and last is not softmax and (last is identity or callable(activate)):
        name = "logits" if last is identity else getattr(activate, "__name__", type(activate).__name__)
        raise ValueError(
            f"{caller} expected a model that returns probabilities for dlref.cross_entropy_error (it takes log y), "
            f"found a last layer that returns {name}; pass dlref.cross_entropy, or end the model with "
            "activate=dlref.softmax."
        )


def loss_for(model) -> Callable:
    """The cross-entropy that matches the model: on probabilities after a softmax, else on logits."""
    return cross_entropy_error if output_activation(model) is softmax else cross_entropy


class CheckedOnce:
    """``loss_fn`` that range-checks the class labels of its first batch only: a training loop's labels come
    from one dataset, and reading them back at every step would make the host wait for the device."""

    def __init__(self, loss_fn: Callable):
        self.loss_fn, self.first = loss_fn, True

    def __call__(self, Y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.first or self.loss_fn not in (cross_entropy, cross_entropy_error, mean_squared_error):
            self.first = False
            return self.loss_fn(Y, target)
        return self.loss_fn(Y, target, check=False)
