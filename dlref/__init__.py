"""dlref — the slide deck "Deep Learning: An Introduction", as code over torch.

Slide → name: Layers → ``Layer`` and the activations; Models → ``Model``;
Loss function → ``cross_entropy_error``, ``cross_entropy``,
``mean_squared_error``; Optimizer → ``SGD``; Training → ``train``;
Evaluation → ``evaluate``. The core imports only torch.
"""

from .activations import identity, relu, sigmoid, softmax, tanh
from .layer import Layer
from .loss import cross_entropy, cross_entropy_error, log_softmax, mean_squared_error
from .model import Model
from .optimizer import SGD
from .training import evaluate, train

__version__ = "0.1.0"

__all__ = [
    "Layer", "Model", "SGD", "cross_entropy", "cross_entropy_error", "evaluate", "identity",
    "log_softmax", "mean_squared_error", "relu", "sigmoid", "softmax", "tanh", "train",
]
