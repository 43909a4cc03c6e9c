"""Activations — the "Layers" slide: ``Y = activate(W·X + B)``.

The slide defines ``ReLU = x > 0 ? x : 0``. Each function here is the plain
formula written with torch ops so autograd differentiates it; the torch twins
are ``torch.relu``, ``torch.sigmoid``, ``torch.tanh`` and ``torch.softmax``
(tested equal, outputs and gradients, in ``tests/test_activations.py``).
"""

import torch
from torch import nn


def relu(x: torch.Tensor) -> torch.Tensor:
    """``ReLU(x) = x > 0 ? x : 0`` (the slide's definition). Twin: ``torch.relu``."""
    return torch.relu(x)  # x > 0 ? x : 0, in one fused kernel forward and backward


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """``σ(x) = 1 / (1 + e^{-x})``. Twin: ``torch.sigmoid`` (used for its stable kernel)."""
    return torch.sigmoid(x)


def tanh(x: torch.Tensor) -> torch.Tensor:
    """``tanh(x) = (e^x − e^{-x}) / (e^x + e^{-x})``. Twin: ``torch.tanh``."""
    return torch.tanh(x)


def softmax(x: torch.Tensor) -> torch.Tensor:
    """``softmax(x)_k = e^{x_k} / Σ_j e^{x_j}`` over the last axis.

    The maximum is subtracted first: the same value, but ``e^{x}`` never
    overflows. Twin: ``torch.softmax(x, dim=-1)``.
    """
    z = torch.exp(x - x.amax(dim=-1, keepdim=True))
    return z / z.sum(dim=-1, keepdim=True)


def identity(x: torch.Tensor) -> torch.Tensor:
    """``identity(x) = x``: the last layer of a classifier, which returns logits."""
    return x


class Activation(nn.Module):
    """An activation as a layer of its own, ``Y = activate(X)``: for a network that applies it after
    a pooling layer rather than inside the ``ConvLayer`` (see ``dlref.networks.cnn``)."""

    def __init__(self, activate=relu):
        super().__init__()
        self.activate = activate

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.activate(X)

    def extra_repr(self) -> str:
        return getattr(self.activate, "__name__", type(self.activate).__name__)
