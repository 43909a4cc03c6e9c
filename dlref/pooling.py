"""MaxPool, Flatten, Rows, LastHidden — the layers without weights between the "CNN" and "RNN" slides' layers.

``MaxPool`` keeps the largest value of each ``k × k`` window, per channel:
``Y[c, y, x] = max_{u,v < k} X[c, s·y + u, s·x + v]`` with stride ``s`` (``k`` unless given);
twin ``nn.MaxPool2d``. ``Flatten`` turns each example into one row, ``(batch, …) → (batch, features)``,
for a ``Layer`` to read; twin ``nn.Flatten``. ``Rows`` reads each image as a sequence of its rows,
top to bottom, ``(batch, 1, 28, 28)`` or ``(batch, 784)`` → ``(batch, 28, 28)`` = ``(batch, time, features)``,
for an ``LSTMLayer`` to read; twin ``X.reshape(batch, -1, width)``. ``LastHidden`` keeps the
``LSTMLayer``'s last hidden state ``h_T`` for a ``Layer`` to classify (Keras's ``return_sequences=False``).
"""

import torch
import torch.nn.functional as F
from torch import nn

from .errors import check_float


class MaxPool(nn.Module):
    """Max pooling over ``kernel_size × kernel_size`` windows of images (batch, C, H, W) or (C, H, W)."""

    def __init__(self, kernel_size: int = 2, stride: int | None = None):
        super().__init__()
        stride = kernel_size if stride is None else stride
        if not (isinstance(kernel_size, int) and isinstance(stride, int) and kernel_size >= 1 and stride >= 1):
            raise ValueError(
                f"MaxPool expected a positive int kernel_size and stride, found kernel_size={kernel_size!r}, "
                f"stride={stride!r}; pass e.g. MaxPool(2)."
            )
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        check_float("MaxPool", X)
        if X.dim() not in (3, 4) or min(X.shape[-2:]) < self.kernel_size:
            raise ValueError(
                f"MaxPool expected images of shape (batch, channels, height, width) at least "
                f"{self.kernel_size}×{self.kernel_size}, found {tuple(X.shape)}; pool the output of a ConvLayer, "
                "or use fewer poolings."
            )
        return F.max_pool2d(X, self.kernel_size, self.stride)  # (…, (H − k) // s + 1, (W − k) // s + 1)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class Flatten(nn.Module):
    """``(batch, d1, d2, …) → (batch, d1·d2·…)``: one row per example."""

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if not isinstance(X, torch.Tensor) or X.dim() < 2:
            found = tuple(X.shape) if isinstance(X, torch.Tensor) else type(X).__name__
            raise ValueError(
                f"Flatten expected a batch of shape (batch, ...), found {found}; add a batch axis with X.unsqueeze(0)."
            )
        return X.flatten(1)


class Rows(nn.Module):
    """``(batch, …) → (batch, time, width)``: each image as the sequence of its ``width``-pixel rows."""

    def __init__(self, width: int = 28):
        super().__init__()
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"Rows expected a positive int width, found {width!r}; pass the image width, e.g. 28.")
        self.width = width

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        check_float("Rows", X)
        per_example = X[0].numel() if X.dim() >= 2 else 0
        if X.dim() < 2 or per_example % self.width != 0:
            raise ValueError(
                f"Rows expected a batch of images whose size per example is a multiple of the width "
                f"{self.width}, found {tuple(X.shape)}; pass images (batch, 1, height, {self.width}) or "
                f"flat rows (batch, height·{self.width})."
            )
        if X.dim() == 2 and per_example == self.width:  # (28, 28): one image, not 28 images of one row
            raise ValueError(
                f"Rows expected a batch of images (batch, 1, height, {self.width}) or flat rows (batch, "
                f"height·{self.width}), found {tuple(X.shape)}, which would read as {X.shape[0]} images of one row; "
                "for one image add the batch axis with X.unsqueeze(0)."
            )
        return X.reshape(X.shape[0], per_example // self.width, self.width)

    def extra_repr(self) -> str:
        return f"width={self.width}"


class LastHidden(nn.Module):
    """``(H, (h_T, c_T)) → h_T``: an ``LSTMLayer``'s summary of the whole sequence, for a ``Layer`` to read."""

    def forward(self, output) -> torch.Tensor:
        _, (h_T, _) = output
        return h_T  # (batch, hidden)
