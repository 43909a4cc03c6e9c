"""Layer — the "Parameterization" and "Layers" slides: ``Y = activate(W·X + B)``.

Shapes: ``W`` is ``(out, in)`` like ``nn.Linear.weight``, so the slide's worked
FCN example is literally ``W = [[1, 2], [3, 4]]``; ``B`` is ``(out,)``. A single
input vector ``X`` is ``(in,)`` and gives ``Y = activate(W @ X + B)`` of shape
``(out,)``; a batch has one example per row, ``X`` is ``(batch, in)`` and
``Y = activate(X @ W.T + B)`` is ``(batch, out)`` — the same formula, row by row.

Torch twin: ``nn.Linear`` followed by the activation (``Layer.from_torch``).
"""

import math

import torch
from torch import nn

from . import checks
from .activations import relu


class Layer(nn.Module):
    """A fully connected layer with weights ``W``, biases ``B`` and an activation."""

    def __init__(self, in_features: int, out_features: int, activate=relu):
        super().__init__()
        activate = checks.layer(in_features, out_features, activate)  # sizes; "relu" → relu, nn.ReLU → nn.ReLU()
        self.in_features, self.out_features = in_features, out_features
        self.W = nn.Parameter(torch.empty(out_features, in_features))  # (out, in), as nn.Linear.weight
        self.B = nn.Parameter(torch.empty(out_features))
        self.activate = activate
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # nn.Linear's initialisation: U(-1/sqrt(in), 1/sqrt(in)) for W and B.
        bound = 1 / math.sqrt(self.in_features)
        nn.init.uniform_(self.W, -bound, bound)
        nn.init.uniform_(self.B, -bound, bound)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        checks.layer_input(self, X)  # (batch, in) or (in,), in the weights' dtype
        return self.activate(X @ self.W.T + self.B)  # (batch, out) or (out,)

    @classmethod
    def from_torch(cls, linear: nn.Linear, activate=relu) -> "Layer":
        """A ``Layer`` holding a copy of ``linear``'s weight and bias."""
        layer = cls(linear.in_features, linear.out_features, activate)
        layer.to(device=linear.weight.device, dtype=linear.weight.dtype)
        with torch.no_grad():
            layer.W.copy_(linear.weight)
            layer.B.copy_(linear.bias) if linear.bias is not None else layer.B.zero_()
        return layer

    def extra_repr(self) -> str:
        name = getattr(self.activate, "__name__", type(self.activate).__name__)
        return f"in_features={self.in_features}, out_features={self.out_features}, activate={name}"
