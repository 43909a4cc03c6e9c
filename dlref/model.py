"""Model — the "Models" slide: ``model.add(layer)``; ``predict(X) = layer3(layer2(layer1(X)))``.

A ``Model`` is a list of layers, ``model.layers``, applied in order; any ``nn.Module`` that maps
a tensor to a tensor can be added (``Layer``, ``ConvLayer``, pooling, dropout…). ``model.W`` is
the slide's "the model's weights", what ``optimizer.update(model.W, loss)`` adjusts: every
parameter of every layer, biases included (``list(model.parameters())``).
Torch twin: ``nn.Sequential``.
"""

import torch
from torch import nn

from . import checks


class Model(nn.Module):
    """Layers applied one after the other, as on the slide."""

    def __init__(self, *layers: nn.Module):
        super().__init__()
        self.layers = nn.ModuleList()
        for layer in layers:
            self.add(layer)

    def add(self, layer: nn.Module) -> None:
        """The slide's ``model.add(layer)``: ``layer`` becomes the last layer."""
        checks.model_add(self.layers, layer)  # a built nn.Module, taking the outputs of the last layer
        self.layers.append(layer)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        checks.model_input(self, X)  # a tensor, and layers to apply
        Y = X
        for layer in self.layers:  # layer3(layer2(layer1(X)))
            Y = layer(Y)
        return Y

    def predict(self, X: torch.Tensor) -> torch.Tensor:
        """The slide's ``model.predict(X)``: ``model(X)``, torch's call, so hooks and ``model.compile()`` apply."""
        return self(X)

    @property
    def W(self) -> list[torch.Tensor]:
        """The slide's ``model.W``: every weight and bias, layer by layer, ``[layer1.W, layer1.B, …]``."""
        return list(self.parameters())

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int) -> nn.Module:
        return self.layers[index]

