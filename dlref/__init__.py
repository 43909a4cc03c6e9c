"""dlref — the slide deck "Deep Learning: An Introduction", as code over torch.

Slide → name: Layers → ``Layer`` and the activations; Models → ``Model``;
Loss function → ``cross_entropy_error``, ``cross_entropy``,
``mean_squared_error``; Back propagation, Optimizer → ``SGD`` and its ``update``; Training → ``train``;
Evaluation → ``evaluate``, ``split``; a trained model for ``model.predict(newX)`` → ``load``;
CNN → ``ConvLayer``, ``MaxPool``, ``Flatten``;
RNN → ``LSTMLayer``; FCN/CNN/LSTM networks → ``dlref.networks``. The core
imports only torch.
"""

from . import networks
from .activations import Activation, identity, relu, sigmoid, softmax, tanh
from .conv import ConvLayer
from .divergence import DivergenceError
from .dropout import Dropout
from .evaluation import evaluate, split
from .layer import Layer
from .loss import cross_entropy, cross_entropy_error, log_softmax, mean_squared_error
from .lstm import LSTMLayer
from .model import Model
from .optimizer import SGD
from .pooling import Flatten, LastHidden, MaxPool, Rows
from .trained import load
from .training import train

__version__ = "0.1.0"
SUBPACKAGES = ("data", "figures")  # loaded on first use: `import dlref` itself needs torch only


def __getattr__(name: str):
    """``dlref.data`` and ``dlref.figures`` after a plain ``import dlref``, as ``torch.nn`` after ``import torch``;
    imported when first used, so the core stays torch-only until then."""
    if name in SUBPACKAGES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'dlref' has no attribute {name!r}")

__all__ = [
    "Activation", "ConvLayer", "DivergenceError", "Dropout", "Flatten", "LSTMLayer", "LastHidden", "Layer", "MaxPool",
    "Model", "Rows", "SGD", "cross_entropy", "cross_entropy_error", "evaluate", "identity", "load", "log_softmax",
    "mean_squared_error", "networks", "relu", "sigmoid", "softmax", "split", "tanh", "train",
]
