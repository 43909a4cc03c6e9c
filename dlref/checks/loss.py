"""Guards of the "Loss function" slide: ``y`` and ``t`` as a loss takes them, and the loss/output trap in one place.

``cross_entropy`` applies the softmax itself (it takes logits); ``cross_entropy_error`` takes ``log y`` (it takes
probabilities). Given the other kind, a loss would return a wrong number, so ``logits`` refuses a softmax's output
(told from the autograd graph: no sync) and ``output`` refuses a model whose last layer does not match the loss,
from the layers alone, once, before a loop starts.
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


def loss_inputs(name: str, y: torch.Tensor, t: torch.Tensor, check: bool = True) -> None:
    """``y`` ``(batch, classes)`` or ``(classes,)``; ``t`` one-hot floats shaped like it, or class indices. With
    ``check``, the indices' range too, which reads two numbers back from their device (training loops check their
    labels once, then pass ``check=False``)."""
    if not isinstance(y, torch.Tensor) or not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} expected torch tensors y and t, found {type(y).__name__} and {type(t).__name__}; "
                        "convert them with torch.as_tensor.")
    if y.dim() == 1:  # one example, as on the slide
        y, t = y.unsqueeze(0), t.unsqueeze(0)
    if y.dim() != 2:
        raise ValueError(f"{name} expected y of shape (batch, classes) or (classes,), found {tuple(y.shape)}; "
                         "flatten the model output to one row per example.")
    if torch.is_floating_point(t):
        if t.shape != y.shape:
            raise ValueError(f"{name} expected one-hot targets shaped like y {tuple(y.shape)}, found "
                             f"{tuple(t.shape)}; pass one row of targets per row of y (or integer class indices).")
        return
    if t.dim() == 2 and t.shape[1] == 1:
        t = t.squeeze(1)
    if t.shape == y.shape and y.shape[1] > 1:  # one-hot rows, stored as integers
        raise ValueError(f"{name} expected one-hot targets as floats, found integer ones of shape {tuple(t.shape)}; "
                         "pass t.float(), or the class indices t.argmax(dim=1).")
    if t.dim() != 1 or t.shape[0] != y.shape[0]:
        raise ValueError(f"{name} expected class indices of shape ({y.shape[0]},) to match y {tuple(y.shape)}, "
                         f"found {tuple(t.shape)}; pass one label per row of y.")
    if check and t.numel() and (int(t.min()) < 0 or int(t.max()) >= y.shape[1]):
        raise ValueError(f"{name} expected class indices in 0..{y.shape[1] - 1}, found values from {int(t.min())} "
                         f"to {int(t.max())}; check the labels or the number of classes of the last layer.")


def probabilities(y: torch.Tensor, check: bool = True) -> None:
    """``cross_entropy_error``'s ``y`` (batch, classes) is in [0, 1]: two numbers read back, as for the labels."""
    if check and y.numel() and not bool(((y >= 0) & (y <= 1)).all()):
        raise ValueError(f"cross_entropy_error expected probabilities in [0, 1] (a softmax's output), found values "
                         f"from {float(y.min()):.4g} to {float(y.max()):.4g}; pass dlref.softmax(Y), or use "
                         "dlref.cross_entropy on scores (logits).")


def logits(x: torch.Tensor, rows: torch.Tensor, check: bool = True) -> None:
    """``cross_entropy``'s ``x`` is not the output of a softmax: told from the graph of ``x`` as given (no value
    read), or, with ``check``, from its ``rows`` (batch, classes): each in [0, 1] and summing to 1, one value read."""
    softmaxed = x.grad_fn is not None and x.grad_fn.name() == "SoftmaxBackward0"
    if not softmaxed and check and rows.shape[1] >= 2 and rows.numel():
        sums = rows.detach().sum(dim=1)
        softmaxed = bool(((rows >= 0) & (rows <= 1)).all() & ((sums - 1).abs() <= 1e-4).all())
    if softmaxed:
        raise ValueError("cross_entropy expected logits (it applies the softmax itself), found the output of a "
                         "softmax; end the model with activate=dlref.identity, or use dlref.cross_entropy_error on "
                         "probabilities.")


def last_module(model: nn.Module) -> nn.Module:
    """The module that computes the model's output: the last layer of a ``Model`` or ``nn.Sequential``."""
    from ..model import Model  # model.py imports this package

    while isinstance(model, (Model, nn.Sequential)) and len(model) > 0:
        model = model[-1]
    return model


def output_activation(model: nn.Module):
    """What the model's output passes through last: ``softmax`` (probabilities), ``identity`` (logits),
    or ``None`` when its structure does not say. Read once from the layers, never from the values."""
    from ..activations import identity, softmax  # activations.py imports this package

    model = last_module(model)
    if isinstance(model, (nn.Softmax, nn.Linear)):
        return softmax if isinstance(model, nn.Softmax) else identity
    activate = getattr(model, "activate", None)  # Layer, ConvLayer, Activation
    return activate if activate is softmax or activate is identity else None


def output(model: nn.Module, loss_fn: Callable, caller: str) -> None:
    """Refuse a model whose output does not match ``loss_fn``, from the layers alone (once, before a loop)."""
    from ..activations import identity, softmax
    from ..loss import cross_entropy, cross_entropy_error  # loss.py imports this package

    last = output_activation(model)
    on_logits = loss_fn is cross_entropy or loss_fn is F.cross_entropy or isinstance(loss_fn, nn.CrossEntropyLoss)
    if on_logits and last is softmax:
        name = "dlref.cross_entropy" if loss_fn is cross_entropy else f"torch's {type(loss_fn).__name__}"
        name = "torch's F.cross_entropy" if loss_fn is F.cross_entropy else name
        raise ValueError(f"{caller} expected a model that returns logits for {name} (it applies the softmax "
                         "itself), found a last layer with activate=softmax; build it with activate=dlref.identity, "
                         "or pass dlref.cross_entropy_error, the slide's formula on probabilities.")
    final = last_module(model)
    activate = getattr(final, "activate", final if isinstance(final, nn.Module) else None)
    if loss_fn is cross_entropy_error and last is not softmax and (last is identity or callable(activate)):
        name = "logits" if last is identity else getattr(activate, "__name__", type(activate).__name__)
        raise ValueError(f"{caller} expected a model that returns probabilities for dlref.cross_entropy_error (it "
                         f"takes log y), found a last layer that returns {name}; pass dlref.cross_entropy, or end "
                         "the model with activate=dlref.softmax.")


class CheckedOnce:
    """``loss_fn`` that range-checks the class labels of its first batch only: a training loop's labels come
    from one dataset, and reading them back at every step would make the host wait for the device."""

    def __init__(self, loss_fn: Callable):
        from ..loss import cross_entropy, cross_entropy_error, mean_squared_error

        self.loss_fn, self.first = loss_fn, True
        self.takes_check = loss_fn in (cross_entropy, cross_entropy_error, mean_squared_error)  # dlref's own

    def __call__(self, Y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.first or not self.takes_check:
            self.first = False
            return self.loss_fn(Y, target)
        return self.loss_fn(Y, target, check=False)
