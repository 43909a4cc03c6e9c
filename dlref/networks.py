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

import inspect

from torch import nn

from .activations import Activation, identity, relu
from .conv import ConvLayer
from .dropout import Dropout, is_probability
from .layer import Layer
from .lstm import LSTMLayer
from .model import Model
from .pooling import Flatten, LastHidden, MaxPool, Rows


def _check_sizes(name: str, **sizes) -> None:
    bad = {k: v for k, v in sizes.items() if not isinstance(v, int) or isinstance(v, bool) or v < 1}
    if bad:
        raise ValueError(f"{name} expected positive int sizes, found {bad}; pass e.g. {name}(hidden=128).")


def _dropout(name: str, p: float) -> list[nn.Module]:
    # p = 1 would drop every unit: a network that cannot learn, so builders stop below it.
    if not is_probability(p) or p == 1:
        raise ValueError(f"{name} expected a dropout probability 0 <= dropout < 1, found dropout={p!r}; "
                         f"pass e.g. {name}(dropout=0.2), or dropout=0 for none.")
    return [Dropout(p)] if p > 0 else []


def fcn(in_features: int = 784, hidden: int = 800, classes: int = 10, dropout: float = 0.2) -> Model:
    """A fully connected network ``in_features``-``hidden``-``classes`` with ReLU and dropout."""
    _check_sizes("fcn", in_features=in_features, hidden=hidden, classes=classes)
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
    images takes about half as long as with 32/64 channels, and 16/32 reaches the targets (README).
    """
    if not isinstance(channels, (tuple, list)) or len(channels) != 2:
        raise ValueError(f"cnn expected channels as a pair (first, second), found {channels!r}; pass e.g. (16, 32).")
    c1, c2 = channels
    _check_sizes("cnn", in_channels=in_channels, c1=c1, c2=c2, kernel_size=kernel_size, hidden=hidden,
                 classes=classes, image_size=image_size)
    side = image_size // 2 // 2
    if side < 1:
        raise ValueError(f"cnn expected image_size >= 4 for two 2×2 poolings, found {image_size}; pass e.g. 28.")
    if kernel_size % 2 == 0:
        raise ValueError(f"cnn expected an odd kernel_size, so that padding kernel_size // 2 keeps each image's "
                         f"size, found {kernel_size}; pass e.g. 3 or 5.")
    pad = kernel_size // 2
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
    _check_sizes("lstm", input_size=input_size, hidden=hidden, classes=classes)
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
    if network not in NETWORKS:
        raise ValueError(f"{caller} expected a network in {tuple(NETWORKS)}, found {network!r}; pick one of them.")
    builder, kwargs = NETWORKS[network], dict(network_kwargs or {})
    takes = list(inspect.signature(builder).parameters)
    unknown = sorted(set(kwargs) - set(takes))
    if unknown:
        raise ValueError(f"{caller} expected network_kwargs that {network} takes ({', '.join(takes)}), found "
                         f"{', '.join(map(repr, unknown))}; fix the key, e.g. "
                         f"--model.network_kwargs='{{\"{takes[1] if len(takes) > 1 else takes[0]}\": …}}'.")
    return builder(**kwargs)
