"""Activations — the "Layers" slide: ``Y = activate(W·X + B)``.

The slide defines ``ReLU = x > 0 ? x : 0``. Each function's docstring gives its
formula; each is computed by its torch twin's kernel (``torch.relu``,
``torch.sigmoid``, ``torch.tanh``, ``torch.softmax``: one fused, numerically
careful kernel forward and backward). ``tests/test_activations.py`` checks each
against the literal formula, outputs and gradients.
"""

import torch
from torch import nn

from . import checks


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
    """``softmax(x)_k = e^{x_k} / Σ_j e^{x_j}`` over the last axis: probabilities that sum to 1.

    Computed by ``torch.softmax`` (its twin), which subtracts the maximum first: the same value, but
    ``e^{x}`` never overflows. Its autograd node (``SoftmaxBackward0``) is also how
    ``dlref.cross_entropy`` recognises probabilities passed where it expects logits.
    """
    return torch.softmax(x, dim=-1)


def identity(x: torch.Tensor) -> torch.Tensor:
    """``identity(x) = x``: the last layer of a classifier, which returns logits."""
    return x


NAMES = ("relu", "sigmoid", "tanh", "softmax", "identity")  # a layer's activate may name one: Layer(784, 10, "relu")


class Activation(nn.Module):
    """An activation as a layer of its own, ``Y = activate(X)``: for a network that applies it after
    a pooling layer rather than inside the ``ConvLayer`` (see ``dlref.networks.cnn``)."""

    def __init__(self, activate=relu):
        super().__init__()
        self.activate = checks.activation(activate, "Activation")  # "relu" → relu, nn.ReLU → nn.ReLU()

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.activate(X)

    def extra_repr(self) -> str:
        return getattr(self.activate, "__name__", type(self.activate).__name__)
