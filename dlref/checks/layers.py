"""Guards of the "Parameterization", "Layers" and "Models" slides: the tensor a layer is given, a layer's sizes
and ``activate``, ``model.add(layer)`` and ``model.predict(X)``.

Each message says what was expected, what was found, and what to do.
"""

import torch
from torch import nn

# --- Any layer: the tensor that comes in ---


def float_input(name: str, X: torch.Tensor) -> None:
    """Raise ``TypeError`` unless ``X`` is a floating-point tensor."""
    if isinstance(X, tuple) and len(X) == 2 and isinstance(X[1], tuple):  # an LSTMLayer's (H, (h_T, c_T))
        raise TypeError(f"{name} expected a torch.Tensor, found an LSTMLayer's (H, (h_T, c_T)); put "
                        "dlref.LastHidden() after the LSTMLayer to pass h_T on.")
    if not isinstance(X, torch.Tensor):
        raise TypeError(
            f"{name} expected a torch.Tensor, found {type(X).__name__}; "
            "convert it with torch.as_tensor(X, dtype=torch.float32)."
        )
    if not torch.is_floating_point(X):
        how = ("X.float() / 255 for pixels 0..255 (dlref.data.normalize for MNIST's mean and std)"
               if X.dtype == torch.uint8 else "X.float()")
        raise TypeError(f"{name} expected a floating-point tensor, found dtype {X.dtype}; convert it with {how}.")


def features(name: str, X: torch.Tensor, expected: int, hint: str = "") -> None:
    """Raise unless ``X`` is a float tensor whose last axis has ``expected`` entries."""
    float_input(name, X)
    if X.dim() == 0 or X.shape[-1] != expected:
        raise ValueError(
            f"{name} expected input of shape (batch, {expected}) or ({expected},), found {tuple(X.shape)}; "
            f"{hint or _reshape_hint(X, expected)}"
        )


def _reshape_hint(X: torch.Tensor, expected: int) -> str:
    """What to do with an input of the wrong shape: a reshape where its entries would fit, else another layer."""
    if X.dim() > 2 and X[0].numel() == expected:  # a batch of images: (2, 1, 28, 28) for 784 inputs
        return "flatten each example to one row with X.flatten(1), or build the layer with the right size."
    if X.dim() >= 2 and X.numel() % expected == 0:  # e.g. one 28×28 image for 784 inputs: X.reshape(-1, 784)
        return (f"reshape the input to one row per example, X.reshape(-1, {expected}), or build the layer with "
                "the right size.")
    return "reshape the input (e.g. X.flatten(1)) or build the layer with the right size."


# --- Layers: Layer(in, out, activate), Y = activate(W·X + B) ---


def activation(activate, owner: str = "Layer"):
    """What a layer's ``activate`` argument stands for, checked when the layer is built: a function (or an
    ``nn.Module`` instance) as it is, one of dlref's by its name (``"relu"``), an ``nn.Module`` class built for you
    (``nn.ReLU`` → ``nn.ReLU()``); anything else is one sentence naming ``activate``."""
    from .. import activations  # the slide's functions by name (activations.py imports this package)

    if isinstance(activate, str):
        if activate not in activations.NAMES:
            raise ValueError(f"{owner} expected activate to be a function or one of dlref's activations "
                             f"{', '.join(map(repr, activations.NAMES))}, found {activate!r}; pass e.g. "
                             "activate=dlref.relu.")
        return getattr(activations, activate)
    if isinstance(activate, type) and issubclass(activate, nn.Module):
        try:
            return activate()  # nn.ReLU → nn.ReLU(), as torch users write it in nn.Sequential
        except TypeError:
            raise TypeError(f"{owner} expected activate to be a function or a module, found the class "
                            f"{activate.__name__}, which needs arguments; pass an instance, e.g. "
                            f"activate={activate.__name__}(...).") from None
    if isinstance(activate, type) or not callable(activate):
        found = f"the class {activate.__name__}" if isinstance(activate, type) else type(activate).__name__
        raise TypeError(f"{owner} expected activate to be a function such as dlref.relu (or a module such as "
                        f"nn.ReLU()), found {found}; pass e.g. activate=dlref.relu.")
    return activate


def layer(in_features: int, out_features: int, activate):
    """``Layer``'s sizes, then its ``activate``; returns the activation as ``activation`` reads it."""
    if in_features < 1 or out_features < 1:
        raise ValueError(
            f"Layer expected positive sizes, found in_features={in_features}, "
            f"out_features={out_features}; pass the number of inputs and outputs."
        )
    return activation(activate, "Layer")


def layer_input(layer: nn.Module, X: torch.Tensor) -> None:
    """``X`` for ``Layer.forward``: floats with ``in_features`` on the last axis, in the weights' dtype."""
    features("Layer", X, layer.in_features)
    if X.dtype != layer.W.dtype and not torch.is_autocast_enabled(X.device.type):  # autocast mixes them
        raise TypeError(f"Layer expected input of its weights' dtype {layer.W.dtype}, found {X.dtype} "
                        f"(torch.from_numpy keeps numpy's float64); convert it with X.to({layer.W.dtype}).")


# --- Models: model.add(layer), predict(X) = layer3(layer2(layer1(X))) ---


def model_add(layers: nn.ModuleList, layer: nn.Module) -> None:
    """``model.add(layer)``'s layer: a built ``nn.Module`` that takes the outputs of the layer before it."""
    if not isinstance(layer, nn.Module):
        if isinstance(layer, type):  # Layer, not Layer(784, 10)
            found, hint = f"the class {layer.__name__}", f"build one first, e.g. {layer.__name__}(...)"
        elif isinstance(layer, (list, tuple)):
            found, hint = f"a {type(layer).__name__}", "pass the layers one by one, Model(layer1, layer2)"
        else:
            found, hint = type(layer).__name__, "wrap the function in a layer first (e.g. dlref.Activation(f))"
        raise TypeError(f"Model.add expected a layer (an nn.Module such as dlref.Layer), found {found}; {hint}.")
    before = layers[-1] if len(layers) else None
    outputs, inputs = getattr(before, "out_features", None), getattr(layer, "in_features", None)
    if isinstance(outputs, int) and isinstance(inputs, int) and outputs != inputs:  # Layer after Layer
        raise ValueError(
            f"Model.add expected a layer taking the {outputs} outputs of the layer before it, found one taking "
            f"{inputs}; build it as {type(layer).__name__}({outputs}, ...)."
        )


def model_input(model: nn.Module, X: torch.Tensor) -> None:
    """``model.predict(X)``'s ``X`` is a tensor, and the model has layers to apply."""
    if not isinstance(X, torch.Tensor):
        raise TypeError(
            f"Model.predict expected a torch.Tensor, found {type(X).__name__}; "
            "convert it with torch.as_tensor(X, dtype=torch.float32)."
        )
    if len(model.layers) == 0:
        raise ValueError("Model.predict found a model with no layers; add layers with model.add(Layer(...)) first.")


def as_model(model: nn.Module):
    """``model`` itself, or any other ``nn.Module`` as a one-layer ``Model`` (the same parameters),
    so that ``model.predict(X)`` and ``model.W`` read as on the slides for a torch model too."""
    from ..model import Model  # model.py imports this package

    if isinstance(model, Model):
        return model
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"expected a model (dlref.Model or any nn.Module), found {type(model).__name__}; "
            "build one with dlref.Model(dlref.Layer(...), ...)."
        )
    return Model(model)
