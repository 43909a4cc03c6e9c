"""Model — the "Models" slide: ``model.add(layer)``; ``predict(X) = layer3(layer2(layer1(X)))``.

A ``Model`` is a list of layers applied in order; any ``nn.Module`` that maps
a tensor to a tensor can be added (``Layer``, ``ConvLayer``, pooling, dropout…).
Torch twin: ``nn.Sequential``.
"""

import torch
from torch import nn


class Model(nn.Module):
    """Layers applied one after the other, as on the slide."""

    def __init__(self, *layers: nn.Module):
        super().__init__()
        self.layers = nn.ModuleList()
        for layer in layers:
            self.add(layer)

    def add(self, layer: nn.Module) -> "Model":
        if not isinstance(layer, nn.Module):
            raise TypeError(
                f"Model.add expected a layer (an nn.Module such as dlref.Layer), found "
                f"{type(layer).__name__}; wrap the function in a layer first."
            )
        self.layers.append(layer)
        return self

    def predict(self, X: torch.Tensor) -> torch.Tensor:
        if not isinstance(X, torch.Tensor):
            raise TypeError(
                f"Model.predict expected a torch.Tensor, found {type(X).__name__}; "
                "convert it with torch.as_tensor(X, dtype=torch.float32)."
            )
        if len(self.layers) == 0:
            raise ValueError("Model.predict found a model with no layers; add layers with model.add(Layer(...)) first.")
        Y = X
        for layer in self.layers:
            Y = layer(Y)
        return Y

    forward = predict

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int) -> nn.Module:
        return self.layers[index]
