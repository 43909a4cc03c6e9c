"""Model — the "Models" slide: ``model.add(layer)``; ``predict(X) = layer3(layer2(layer1(X)))``.

A ``Model`` is a list of layers, ``model.layers``, applied in order; any ``nn.Module`` that maps
a tensor to a tensor can be added (``Layer``, ``ConvLayer``, pooling, dropout…). ``model.W`` is
the slide's "the model's weights", what ``optimizer.update(model.W, loss)`` adjusts: every
parameter of every layer, biases included (``list(model.parameters())``).
Torch twin: ``nn.Sequential``.
"""

import torch
from torch import nn

from .activations import identity, softmax


class Model(nn.Module):
    """Layers applied one after the other, as on the slide."""

    def __init__(self, *layers: nn.Module):
        super().__init__()
        self.layers = nn.ModuleList()
        for layer in layers:
            self.add(layer)

    def add(self, layer: nn.Module) -> None:
        """The slide's ``model.add(layer)``: ``layer`` becomes the last layer."""
        if not isinstance(layer, nn.Module):
            if isinstance(layer, type):  # Layer, not Layer(784, 10)
                found, hint = f"the class {layer.__name__}", f"build one first, e.g. {layer.__name__}(...)"
            elif isinstance(layer, (list, tuple)):
                found, hint = f"a {type(layer).__name__}", "pass the layers one by one, Model(layer1, layer2)"
            else:
                found, hint = type(layer).__name__, "wrap the function in a layer first (e.g. dlref.Activation(f))"
            raise TypeError(f"Model.add expected a layer (an nn.Module such as dlref.Layer), found {found}; {hint}.")
        before = self.layers[-1] if len(self.layers) else None
        outputs, inputs = getattr(before, "out_features", None), getattr(layer, "in_features", None)
        if isinstance(outputs, int) and isinstance(inputs, int) and outputs != inputs:  # Layer after Layer
            raise ValueError(
                f"Model.add expected a layer taking the {outputs} outputs of the layer before it, found one taking "
                f"{inputs}; build it as {type(layer).__name__}({outputs}, ...)."
            )
        self.layers.append(layer)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if not isinstance(X, torch.Tensor):
            raise TypeError(
                f"Model.predict expected a torch.Tensor, found {type(X).__name__}; "
                "convert it with torch.as_tensor(X, dtype=torch.float32)."
            )
        if len(self.layers) == 0:
            raise ValueError("Model.predict found a model with no layers; add layers with model.add(Layer(...)) first.")
        Y = X
        for layer in self.layers:  # layer3(layer2(layer1(X)))
            Y = layer(Y)
        return Y

    def predict(self, X: torch.Tensor) -> torch.Tensor:
        """The slide's ``model.predict(X)``: the layers in order (``forward``).

        It is ``model(X)``, torch's call, so forward hooks and a ``model.compile()`` apply to both.
        """
        return self(X)

    @property
    def W(self) -> list[torch.Tensor]:
        """The slide's ``model.W``: every weight and bias, layer by layer, ``[layer1.W, layer1.B, …]``."""
        return list(self.parameters())

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int) -> nn.Module:
        return self.layers[index]


def as_model(model: nn.Module) -> Model:
    """``model`` itself, or any other ``nn.Module`` as a one-layer ``Model`` (the same parameters),
    so that ``model.predict(X)`` and ``model.W`` read as on the slides for a torch model too."""
    if isinstance(model, Model):
        return model
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"expected a model (dlref.Model or any nn.Module), found {type(model).__name__}; "
            "build one with dlref.Model(dlref.Layer(...), ...)."
        )
    return Model(model)


def last_module(model: nn.Module) -> nn.Module:
    """The module that computes the model's output: the last layer of a ``Model`` or ``nn.Sequential``."""
    while isinstance(model, (Model, nn.Sequential)) and len(model) > 0:
        model = model[-1]
    return model


def output_activation(model: nn.Module):
    """What the model's output passes through last: ``softmax`` (probabilities), ``identity`` (logits),
    or ``None`` when its structure does not say. Read once from the layers, never from the values."""
    model = last_module(model)
    if isinstance(model, (nn.Softmax,)):
        return softmax
    if isinstance(model, nn.Linear):
        return identity
    activate = getattr(model, "activate", None)  # Layer, ConvLayer, Activation
    if activate is softmax or activate is identity:
        return activate
    return None
