"""layers: the slide layers against their torch twins, forward + backward, through ``torch.utils.benchmark``.

``LSTMLayer`` (the path that runs, ``dlref/lstm_fast.py``) against ``nn.LSTM``, with a loss on ``h_T``
(as the classifier reads it) and on every ``h_t``; the literal six equations (``LSTMLayer(fast=False)``,
``dlref/lstm.py``) as one more row. ``ConvLayer`` against ``nn.Conv2d``, alone and followed by a ReLU.
Each layer is found by type in the network of ``configs/lstm.yaml`` or ``configs/cnn.yaml`` and fed
what it gets there from a batch of the recipe's size; the twin holds a copy of the same weights.
"""

import torch
from torch import nn

import dlref
from dlref.cli.recipe import recipe

from .harness import ROOT, Settings, compare, interleave

IMAGE = (1, 28, 28)  # an MNIST image (channels, height, width), what the networks are built for


def inputs(config: str, kind: type) -> list[tuple[nn.Module, torch.Tensor]]:
    """Each ``kind`` layer of the recipe's network, with its input when the network reads a batch of images."""
    cli = recipe("--config", ROOT / "configs" / f"{config}.yaml")
    X, found = torch.randn(cli.datamodule.batch_size, *IMAGE), []
    with torch.no_grad():
        for layer in cli.model.model:
            if isinstance(layer, kind):
                found.append((layer, X))
            X = layer(X)
    return found


def timed(step, settings: Settings):
    """A run: ``torch.utils.benchmark.Timer`` over ``step`` (which synchronises a GPU); seconds per call."""
    import torch.utils.benchmark as benchmark  # here: imported, it warns on a CUDA build of torch without CUDA

    timer = benchmark.Timer("step()", globals={"step": step}, num_threads=torch.get_num_threads())
    return lambda: timer.blocked_autorange(min_run_time=0.05 if settings.quick else 0.5).median


def lstm_step(module, X, read: str):
    def step():
        H, (h_T, _) = module(X)  # H (batch, time, hidden), h_T (batch, hidden)
        (h_T if read == "last" else H).sum().backward()
    return step


def conv_step(module, X):
    return lambda: module(X).sum().backward()


def run(settings: Settings, device="cpu") -> list[dict]:
    rows = []
    [(lstm, X)] = inputs("lstm", dlref.LSTMLayer)
    twin = nn.LSTM(lstm.input_size, lstm.hidden_size, batch_first=True).to(device)
    ours, literal = dlref.LSTMLayer.from_torch(twin, lstm.fast), dlref.LSTMLayer.from_torch(twin, fast=False)
    X = X.to(device)
    shape = f"batch {len(X)}, {X.shape[1]} steps, {lstm.input_size} → {lstm.hidden_size}"
    for read, what in (("last", "loss on h_T (a classifier)"), ("all", "loss on every h_t")):
        s = interleave({"nn.LSTM": timed(lstm_step(twin, X, read), settings),
                        "LSTMLayer": timed(lstm_step(ours, X, read), settings)}, settings.repeats, settings.warmup)
        rows.append(compare(f"LSTM forward + backward, {shape}, {what}", ("nn.LSTM", s["nn.LSTM"]),
                            ("LSTMLayer", s["LSTMLayer"]), 1.5))
    s = interleave({"nn.LSTM": timed(lstm_step(twin, X, "last"), settings),
                    "literal": timed(lstm_step(literal, X, "last"), settings)}, settings.repeats, settings.warmup)
    rows.append(compare(f"LSTM forward + backward, {shape}, loss on h_T, the six equations as written",
                        ("nn.LSTM", s["nn.LSTM"]), ("LSTMLayer(fast=False)", s["literal"]),
                        note="dlref/lstm.py's equations under autograd: a dozen autograd nodes per step where the "
                             "default path (dlref/lstm_fast.py) has one node for the whole sequence"))
    for i, (conv, X) in enumerate(inputs("cnn", dlref.ConvLayer)):
        twin = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding).to(device)
        X = X.to(device).requires_grad_(i > 0)  # past the first layer, the input's gradient is computed too
        (c_in, side), (kh, kw) = X.shape[1:3], conv.kernel_size
        for activate, label in ((dlref.identity, ""), (dlref.relu, " + ReLU")):
            theirs = nn.Sequential(twin, nn.ReLU() if label else nn.Identity())
            ours = dlref.ConvLayer.from_torch(twin, activate)
            s = interleave({"nn.Conv2d": timed(conv_step(theirs, X), settings),
                            "ConvLayer": timed(conv_step(ours, X), settings)}, settings.repeats, settings.warmup)
            rows.append(compare(f"conv {c_in} → {conv.out_channels}, {kh}×{kw}, {side}×{side}{label}, batch {len(X)}, "
                                "forward + backward", (f"nn.Conv2d{label}", s["nn.Conv2d"]),
                                (f"ConvLayer{label}", s["ConvLayer"]),
                                note="the two rows differ by dlref.relu against torch.relu (nn.ReLU)"
                                if label and i == 0 else ""))
    return rows
