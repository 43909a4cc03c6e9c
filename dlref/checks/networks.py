"""Guards of the "Overfitting" slide's dropout, the "RNN" slide's ``LSTMLayer``, and the FCN, CNN and LSTM
networks' builders (``dlref/networks.py``)."""

import inspect
import math

import torch
from torch import nn

from .layers import positive


def _probability(p) -> bool:
    """A real number in [0, 1]: not a bool, a string or NaN."""
    return isinstance(p, (int, float)) and not isinstance(p, bool) and math.isfinite(p) and 0 <= p <= 1


def dropout(p: float) -> None:
    if not _probability(p):
        raise ValueError(f"Dropout expected a probability 0 <= p <= 1, found p={p!r}; pass e.g. Dropout(0.5).")


def lstm_layer(input_size: int, hidden_size: int) -> None:
    positive("LSTMLayer", "pass the number of features per step and of hidden units", input_size=input_size,
             hidden_size=hidden_size)


def gate(name: str, gates: tuple[str, ...]) -> None:
    if name not in gates:
        raise ValueError(f"LSTMLayer.gate expected one of {gates}, found {name!r}; use the slide's gate names.")


def lstm_input(layer: nn.Module, X: torch.Tensor, state) -> None:
    """``X`` (batch, time, input_size) in the weights' dtype and device; ``state``, if given, ``(h_0, c_0)`` each
    (batch, hidden) like ``X``."""
    if X.dim() != 3 or X.shape[2] != layer.input_size or X.shape[1] == 0:
        raise ValueError(f"LSTMLayer expected input of shape (batch, time, {layer.input_size}), found "
                         f"{tuple(X.shape)}; read images as sequences of rows with dlref.Rows, or build "
                         f"LSTMLayer({X.shape[-1]}, ...).")
    if (X.dtype, X.device) != (layer.W_x.dtype, layer.W_x.device):
        raise TypeError(f"LSTMLayer expected input of its weights' dtype and device ({layer.W_x.dtype}, "
                        f"{layer.W_x.device}), found ({X.dtype}, {X.device}); move one to the other with X.to(...) "
                        "or layer.to(...).")
    if state is None:  # zeros of the right shape
        return
    shape = (X.shape[0], layer.hidden_size)
    h_0, c_0 = state
    for s, name in ((h_0, "h_0"), (c_0, "c_0")):
        if not isinstance(s, torch.Tensor) or (s.shape, s.dtype, s.device) != (shape, X.dtype, X.device):
            found = f"{tuple(s.shape)} {s.dtype} {s.device}" if isinstance(s, torch.Tensor) else type(s).__name__
            raise ValueError(f"LSTMLayer expected {name} of shape {shape} (batch, hidden), {X.dtype} on {X.device}, "
                             f"found {found}; pass state=(h_0, c_0) with one row per sequence, or leave it out for "
                             "zeros.")


def lstm_twin(lstm: nn.LSTM) -> None:
    """``LSTMLayer.from_torch``'s ``nn.LSTM``: one layer, one direction, batch first, no projection."""
    found = [msg for bad, msg in (
        (lstm.num_layers != 1, f"num_layers={lstm.num_layers} (stack LSTMLayers instead)"),
        (lstm.bidirectional, "bidirectional=True"), (lstm.proj_size > 0, f"proj_size={lstm.proj_size}"),
        (not lstm.batch_first, "batch_first=False (build it with batch_first=True)")) if bad]
    if found:
        raise ValueError(f"LSTMLayer.from_torch expected a one-layer, one-direction, batch-first nn.LSTM "
                         f"without projection, as on the slide; found {', '.join(found)}.")


def network_sizes(name: str, **sizes) -> None:
    bad = {k: v for k, v in sizes.items() if not isinstance(v, int) or isinstance(v, bool) or v < 1}
    if bad:
        raise ValueError(f"{name} expected positive int sizes, found {bad}; pass e.g. {name}(hidden=128).")


def network_dropout(name: str, p: float) -> None:
    if not _probability(p) or p == 1:  # p = 1 would drop every unit: a network that cannot learn
        raise ValueError(f"{name} expected a dropout probability 0 <= dropout < 1, found dropout={p!r}; "
                         f"pass e.g. {name}(dropout=0.2), or dropout=0 for none.")


def cnn(in_channels: int, channels, kernel_size: int, hidden: int, classes: int, image_size: int) -> None:
    """``cnn``'s sizes: two channel counts, an odd kernel (padding ``k // 2`` keeps the size), room for two poolings."""
    if not isinstance(channels, (tuple, list)) or len(channels) != 2:
        raise ValueError(f"cnn expected channels as a pair (first, second), found {channels!r}; pass e.g. (16, 32).")
    c1, c2 = channels
    network_sizes("cnn", in_channels=in_channels, c1=c1, c2=c2, kernel_size=kernel_size, hidden=hidden,
                  classes=classes, image_size=image_size)
    if image_size // 2 // 2 < 1:
        raise ValueError(f"cnn expected image_size >= 4 for two 2×2 poolings, found {image_size}; pass e.g. 28.")
    if kernel_size % 2 == 0:
        raise ValueError(f"cnn expected an odd kernel_size, so that padding kernel_size // 2 keeps each image's "
                         f"size, found {kernel_size}; pass e.g. 3 or 5.")


def build(networks: dict, network: str, network_kwargs: dict | None, caller: str) -> None:
    """A network in ``networks`` and ``network_kwargs`` its builder takes; a sentence lists what it takes."""
    if network not in networks:
        raise ValueError(f"{caller} expected a network in {tuple(networks)}, found {network!r}; pick one of them.")
    takes = list(inspect.signature(networks[network]).parameters)
    unknown = sorted(set(dict(network_kwargs or {})) - set(takes))
    if unknown:
        raise ValueError(f"{caller} expected network_kwargs that {network} takes ({', '.join(takes)}), found "
                         f"{', '.join(map(repr, unknown))}; fix the key, e.g. "
                         f"--model.network_kwargs='{{\"{takes[1] if len(takes) > 1 else takes[0]}\": …}}'.")
