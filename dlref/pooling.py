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

from . import checks


class MaxPool(nn.Module):
    """Max pooling over ``kernel_size × kernel_size`` windows of images (batch, C, H, W) or (C, H, W)."""

    def __init__(self, kernel_size: int = 2, stride: int | None = None):
        super().__init__()
        stride = kernel_size if stride is None else stride
        checks.max_pool(kernel_size, stride)  # positive ints
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        checks.pool_input(self.kernel_size, X)  # float images (batch, C, H, W), at least k × k
        return F.max_pool2d(X, self.kernel_size, self.stride)  # (…, (H − k) // s + 1, (W − k) // s + 1)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class Flatten(nn.Module):
    """``(batch, d1, d2, …) → (batch, d1·d2·…)``: one row per example."""

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        checks.flatten_input(X)  # (batch, ...): one example needs its batch axis
        return X.flatten(1)


class Rows(nn.Module):
    """``(batch, …) → (batch, time, width)``: each image as the sequence of its ``width``-pixel rows."""

    def __init__(self, width: int = 28):
        super().__init__()
        checks.rows_width(width)  # a positive int
        self.width = width

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        checks.rows_input(self.width, X)  # a batch of images, or of flat rows, a multiple of width per example
        return X.reshape(X.shape[0], -1, self.width)  # (batch, time, width): time = pixels per example // width

    def extra_repr(self) -> str:
        return f"width={self.width}"


class LastHidden(nn.Module):
    """``(H, (h_T, c_T)) → h_T``: an ``LSTMLayer``'s summary of the whole sequence, for a ``Layer`` to read."""

    def forward(self, output) -> torch.Tensor:
        _, (h_T, _) = output
        return h_T  # (batch, hidden)
