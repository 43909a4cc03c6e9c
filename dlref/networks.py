"""Networks — the "FCN", "CNN" and "RNN" slides' MNIST classifiers, built only from dlref's layers.

Each builder returns a ``Model`` that takes MNIST images ``(batch, 1, 28, 28)`` (the FCN and the
LSTM also take flat rows ``(batch, 784)``) and returns logits ``(batch, classes)``: the last
``Layer`` has the identity activation, and the loss (``dlref.cross_entropy``) applies the softmax.

    fcn:  Flatten → Layer(784, 800) → Dropout → Layer(800, 10)
    cnn:  ConvLayer(1, 16, 3) → MaxPool(2) → ReLU → ConvLayer(16, 32, 3) → MaxPool(2) → ReLU → Flatten
          → Dropout → Layer(32·7·7, 128) → Dropout → Layer(128, 10)
    lstm: Rows(28) → LSTMLayer(28, 128) → LastHidden → Layer(128, 10)

The LSTM reads an image as a sequence of 28 rows of 28 pixels, top to bottom, and classifies
from its last hidden state ``h_T``. Torch twins: the same stacks of ``nn.Linear``, ``nn.Conv2d``,
``nn.MaxPool2d``, ``nn.Flatten``, ``nn.Dropout`` and ``nn.LSTM``.
"""

from torch import nn

from . import checks
from .activations import Activation, identity, relu
from .conv import ConvLayer
from .dropout import Dropout
from .layer import Layer
from .lstm import LSTMLayer
from .model import Model
from .pooling import Flatten, LastHidden, MaxPool, Rows


def _dropout(name: str, p: float) -> list[nn.Module]:
    """A ``Dropout(p)`` layer, or none for ``p = 0``."""
    checks.network_dropout(name, p)  # 0 <= p < 1
    return [Dropout(p)] if p > 0 else []


def fcn(in_features: int = 784, hidden: int = 800, classes: int = 10, dropout: float = 0.2) -> Model:
    """A fully connected network ``in_features``-``hidden``-``classes`` with ReLU and dropout."""
    checks.network_sizes("fcn", in_features=in_features, hidden=hidden, classes=classes)
    return Model(
        Flatten(),  # (batch, 1, 28, 28) → (batch, 784)
        Layer(in_features, hidden, relu),
        *_dropout("fcn", dropout),
        Layer(hidden, classes, identity),  # logits
    )


def cnn(
    in_channels: int = 1,
    channels: tuple[int, int] = (16, 32),
    kernel_size: int = 3,
    hidden: int = 128,
    classes: int = 10,
    image_size: int = 28,
    dropout: float = 0.25,
) -> Model:
    """Two convolution + pooling blocks, then a fully connected classifier.

    Padding ``kernel_size // 2`` keeps each convolution's output as large as its input (odd kernels),
    and each ``MaxPool(2)`` halves it: 28 → 14 → 7.

    The ReLU comes after the pooling, not inside the ``ConvLayer``: ``max`` and ``ReLU`` commute
    (``ReLU(max(a, b)) = max(ReLU(a), ReLU(b))``, gradients included, ``tests/test_networks.py``), so
    it is the same network, with the ReLU on a quarter of the values.

    The default 16/32 channels were chosen by measurement on a 2-core CPU: a training step of 128
    images takes about half as long as with 32/64 channels, and 16/32 reaches the targets (docs/slides.md).
    """
    checks.cnn(in_channels, channels, kernel_size, hidden, classes, image_size)  # a pair of channels, an odd kernel
    c1, c2 = channels
    side, pad = image_size // 2 // 2, kernel_size // 2  # 28 → 7 after two poolings; "same" padding
    return Model(
        ConvLayer(in_channels, c1, kernel_size, padding=pad, activate=identity),  # (batch, c1, 28, 28)
        MaxPool(2),  # (batch, c1, 14, 14)
        Activation(relu),
        ConvLayer(c1, c2, kernel_size, padding=pad, activate=identity),  # (batch, c2, 14, 14)
        MaxPool(2),  # (batch, c2, 7, 7)
        Activation(relu),
        Flatten(),  # (batch, c2·7·7)
        *_dropout("cnn", dropout),
        Layer(c2 * side * side, hidden, relu),
        *_dropout("cnn", dropout),
        Layer(hidden, classes, identity),  # logits
    )


def lstm(input_size: int = 28, hidden: int = 128, classes: int = 10, fast: bool = True) -> Model:
    """An LSTM over the image's rows of ``input_size`` pixels, classifying from ``h_T``.

    ``fast=False`` trains the literal six equations of ``dlref/lstm.py`` (same numbers, slower).
    """
    checks.network_sizes("lstm", input_size=input_size, hidden=hidden, classes=classes)
    return Model(
        Rows(input_size),  # (batch, 1, 28, 28) or (batch, 784) → (batch, 28, 28): 28 steps of 28 pixels
        LSTMLayer(input_size, hidden, fast=fast),  # → (H (batch, 28, hidden), (h_T, c_T))
        LastHidden(),  # → h_T (batch, hidden)
        Layer(hidden, classes, identity),  # logits
    )


NETWORKS = {"fcn": fcn, "cnn": cnn, "lstm": lstm}  # the one registry: configs, checkpoints and the demo name these


def build(network: str, network_kwargs: dict | None = None, caller: str = "network") -> Model:
    """``fcn``, ``cnn`` or ``lstm`` built with ``network_kwargs`` (a config's ``--model.network_kwargs``); a name or
    a size it does not take is one sentence listing what it takes."""
    checks.build(NETWORKS, network, network_kwargs, caller)  # a network it has, keys its builder takes
    return NETWORKS[network](**dict(network_kwargs or {}))
