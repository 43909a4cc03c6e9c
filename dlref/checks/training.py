"""Guards of the "Training" and "Evaluation" slides: ``train``'s and ``evaluate``'s arguments, the batches they
read, and ``split``'s. Every check here reads types and shapes only, never a value on the device: no sync per step.
"""

from collections.abc import Callable, Iterable, Iterator

import torch
from torch import nn

from .loss import output


def train_arguments(model: nn.Module, data: Iterable, loss_fn: Callable, optimizer, epochs: int) -> None:
    """``train(model, data, loss_fn, optimizer, epochs)``, checked before any step; the softmax trap from the
    layers alone (``checks.output``)."""
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"train expected epochs >= 1, found {epochs}; pass how many passes over the data to make.")
    if isinstance(data, Iterator) and epochs > 1:
        raise ValueError(f"train expected data it can read once per epoch for epochs={epochs}, found a one-shot "
                         f"{type(data).__name__} that is empty after its first pass; pass a list (list(data)), a "
                         "Batches or a DataLoader, or epochs=1.")
    if not callable(loss_fn) or not (hasattr(optimizer, "update") or hasattr(optimizer, "step")):
        raise TypeError(f"train expected train(model, data, loss_fn, optimizer), found loss_fn a "
                        f"{type(loss_fn).__name__} and optimizer a {type(optimizer).__name__}; pass e.g. "
                        "train(model, data, dlref.cross_entropy, dlref.SGD(model.parameters(), lr=0.1)).")
    output(model, loss_fn, "train")  # a model that is not an nn.Module passes: as_model refuses it


def device_of(model: nn.Module) -> torch.device:
    """The device of the model's parameters (the batches are moved there)."""
    for W in model.parameters():
        return W.device
    raise ValueError(f"expected a model with weights, found {type(model).__name__} without parameters; add a Layer.")


def batches(data: Iterable, caller: str) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The ``(X, target)`` batches of ``data``, each checked to be a pair of tensors (types only: no value read)."""
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(x, torch.Tensor) for x in data):
        raise TypeError(f"{caller} expected data as batches of (X, target) pairs, found one (X, target) pair of "
                        "tensors; pass [(X, target)] for one batch, or dlref.data.batches.Batches(X, target, "
                        "batch_size=128) for mini-batches.")
    for batch in data:
        pair = isinstance(batch, (tuple, list)) and len(batch) == 2
        if not (pair and all(isinstance(x, torch.Tensor) for x in batch)):
            found = (f"a {type(batch).__name__} of {', '.join(type(x).__name__ for x in batch)}"
                     if isinstance(batch, (tuple, list)) else f"a {type(batch).__name__}")
            raise TypeError(f"{caller} expected each batch to be an (X, target) pair of tensors, found {found}; make "
                            "the batches (torch.as_tensor(X), torch.as_tensor(target)), e.g. with "
                            "dlref.data.batches.Batches(X, target, 128).")
        yield batch


def epoch(count: int, index: int) -> None:
    """An epoch that read ``count`` examples: none means data that is empty, or empty after one pass."""
    if count == 0:
        raise ValueError(f"train found no batches in data in epoch {index + 1}; pass a non-empty list, Batches or "
                         "DataLoader of (X, target) batches that can be read once per epoch.")


def scores(Y: torch.Tensor) -> None:
    """``evaluate``'s outputs are one score per class: the argmax of one column is always 0, a silent 100%."""
    if Y.dim() != 2 or Y.shape[1] < 2:
        raise ValueError(f"evaluate expected one score per class, (batch, classes >= 2), to count the accuracy, "
                         f"found outputs of shape {tuple(Y.shape)}; give the model one output per class (2 for a "
                         "yes/no question).")


def evaluated(count: int) -> None:
    """``evaluate`` read ``count`` examples: none gives no accuracy to report."""
    if count == 0:
        raise ValueError("evaluate found no examples in data; pass a non-empty iterable of (X, target) batches.")


def split_arguments(rawData, pair: bool, fraction: float) -> None:
    """``split``'s data (a tensor, an ``(X, t)`` pair read as ``pair``, or a list of examples) and a training share
    that leaves examples in both parts."""
    if not (isinstance(rawData, list) or pair or (isinstance(rawData, torch.Tensor) and rawData.dim() > 0)):
        raise TypeError(f"split expected a tensor, an (X, t) tuple of tensors or a list of examples, found "
                        f"{type(rawData).__name__}; pass e.g. split((X, t), 0.8).")
    n = len(rawData[0]) if pair else len(rawData)
    if pair and any(len(x) != n for x in rawData):
        raise ValueError(f"split expected the tensors of (X, t) to hold one row per example each, found lengths "
                         f"{[len(x) for x in rawData]}; pass tensors of the same length.")
    if not (isinstance(fraction, float) and 0 < fraction < 1) or not 0 < round(fraction * n) < n:
        raise ValueError(f"split expected the training share as a fraction that leaves examples in both parts, "
                         f"e.g. 0.8 for 80% training, found {fraction!r} of {n} examples; pass 0 < fraction < 1.")
