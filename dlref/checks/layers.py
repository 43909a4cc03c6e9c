"""Guards of the "Parameterization", "Layers" and "Models" slides: the tensor a layer is given, a layer's sizes
and ``activate``, ``model.add(layer)`` and ``model.predict(X)``."""

import torch
from torch import nn


def float_input(name: str, X: torch.Tensor) -> None:
    """Raise ``TypeError`` unless ``X`` is a floating-point tensor."""
    if isinstance(X, tuple) and len(X) == 2 and isinstance(X[1], tuple):  # an LSTMLayer's (H, (h_T, c_T))
        raise TypeError(f"{name} expected a torch.Tensor, found an LSTMLayer's (H, (h_T, c_T)); put "
                        "dlref.LastHidden() after the LSTMLayer to pass h_T on.")
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"{name} expected a torch.Tensor, found {type(X).__name__}; "
                        "convert it with torch.as_tensor(X, dtype=torch.float32).")
    if not torch.is_floating_point(X):
        how = ("X.float() / 255 for pixels 0..255 (dlref.data.normalize for MNIST's mean and std)"
               if X.dtype == torch.uint8 else "X.float()")
        raise TypeError(f"{name} expected a floating-point tensor, found dtype {X.dtype}; convert it with {how}.")


def activation(activate, owner: str = "Layer"):
    """What a layer's ``activate`` stands for, checked when the layer is built: a function (or an ``nn.Module``
    instance) as it is, one of dlref's by its name (``"relu"``), an ``nn.Module`` class built for you (``nn.ReLU``
    → ``nn.ReLU()``); anything else is one sentence naming ``activate``."""
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


def positive(owner: str, hint: str, **sizes: int) -> None:
    """A layer's sizes, each at least 1 (``Layer``, ``LSTMLayer``); ``hint`` says what to pass."""
    if any(size < 1 for size in sizes.values()):
        raise ValueError(f"{owner} expected positive sizes, found "
                         f"{', '.join(f'{name}={size}' for name, size in sizes.items())}; {hint}.")


def layer(in_features: int, out_features: int, activate):
    """``Layer``'s sizes, then its ``activate``; returns the activation as ``activation`` reads it."""
    positive("Layer", "pass the number of inputs and outputs", in_features=in_features, out_features=out_features)
    return activation(activate, "Layer")


def layer_input(layer: nn.Module, X: torch.Tensor) -> None:
    """``X`` for ``Layer.forward``: floats with ``in_features`` on the last axis, in the weights' dtype."""
    float_input("Layer", X)
    n = layer.in_features
    if X.dim() == 0 or X.shape[-1] != n:  # a reshape where its entries would fit, else another layer
        if X.dim() > 2 and X[0].numel() == n:  # a batch of images: (2, 1, 28, 28) for 784 inputs
            hint = "flatten each example to one row with X.flatten(1),"
        elif X.dim() >= 2 and X.numel() % n == 0:  # e.g. one 28×28 image for 784 inputs: X.reshape(-1, 784)
            hint = f"reshape the input to one row per example, X.reshape(-1, {n}),"
        else:
            hint = "reshape the input (e.g. X.flatten(1))"
        raise ValueError(f"Layer expected input of shape (batch, {n}) or ({n},), found {tuple(X.shape)}; {hint} or "
                         "build the layer with the right size.")
    if X.dtype != layer.W.dtype and not torch.is_autocast_enabled(X.device.type):  # autocast mixes them
        raise TypeError(f"Layer expected input of its weights' dtype {layer.W.dtype}, found {X.dtype} "
                        f"(torch.from_numpy keeps numpy's float64); convert it with X.to({layer.W.dtype}).")


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
    outputs = getattr(layers[-1], "out_features", None) if len(layers) else None
    inputs = getattr(layer, "in_features", None)
    if isinstance(outputs, int) and isinstance(inputs, int) and outputs != inputs:  # Layer after Layer
        raise ValueError(f"Model.add expected a layer taking the {outputs} outputs of the layer before it, found one "
                         f"taking {inputs}; build it as {type(layer).__name__}({outputs}, ...).")


def model_input(model: nn.Module, X: torch.Tensor) -> None:
    """``model.predict(X)``'s ``X`` is a tensor, and the model has layers to apply."""
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"Model.predict expected a torch.Tensor, found {type(X).__name__}; "
                        "convert it with torch.as_tensor(X, dtype=torch.float32).")
    if len(model.layers) == 0:
        raise ValueError("Model.predict found a model with no layers; add layers with model.add(Layer(...)) first.")


def as_model(model: nn.Module):
    """``model`` itself, or any other ``nn.Module`` as a one-layer ``Model`` (the same parameters), so that
    ``model.predict(X)`` and ``model.W`` read as on the slides for a torch model too."""
    from ..model import Model  # model.py imports this package

    if not isinstance(model, nn.Module):
        raise TypeError(f"expected a model (dlref.Model or any nn.Module), found {type(model).__name__}; "
                        "build one with dlref.Model(dlref.Layer(...), ...).")
    return model if isinstance(model, Model) else Model(model)
