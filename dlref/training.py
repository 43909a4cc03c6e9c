"""train — the "Training" slide's loop, in plain Python.

    for each batch (X, target) in data:
        Y = model.predict(X)
        loss = LossFunction(Y, target)
        optimizer.update(model.W, loss)      # back-propagation, then W ← W − η ∂L/∂W

``data`` is any iterable of ``(X, target)`` batches that can be read once per epoch (a list,
``dlref.data.batches.Batches``, a ``DataLoader``). ``model`` is a ``dlref.Model`` or any ``nn.Module``;
``optimizer`` is ``dlref.SGD`` or any torch optimizer (its ``update`` is then ``zero_grad``,
``backward``, ``step``). The Lightning path (``dlref.lightning``) runs the same three lines per step;
``tests/test_lightning.py`` checks both give the same parameters. Evaluation: ``dlref/evaluation.py``.

No tensor is read back to the host at every step: the choices below (the model's form, the loss
that matches it, the kind of data) are made once, from their structure, before the loop, and a loss
that stops being finite is caught by ``dlref.divergence.DivergenceGuard`` (a flag on the device, read
every 50 steps and at the end of each epoch), which puts back the last good weights and raises
``DivergenceError`` before ``on_epoch_end`` could evaluate non-finite ones.
"""

from collections.abc import Callable, Iterable, Iterator

import torch
from torch import nn

from .divergence import DivergenceGuard
from .loss import CheckedOnce, check_output
from .model import as_model


class _Update:
    """``optimizer.update(W, loss)`` for a torch optimizer: the three calls the slide's one stands for."""

    def __init__(self, optimizer: torch.optim.Optimizer):
        self.optimizer = optimizer

    def update(self, W, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad()
        loss.backward()  # ∂L/∂W for every W
        self.optimizer.step()  # W ← W − η ∂L/∂W


def device_of(model: nn.Module) -> torch.device:
    """The device of the model's parameters (the batches are moved there)."""
    for W in model.parameters():
        return W.device
    raise ValueError(f"expected a model with weights, found {type(model).__name__} without parameters; add a Layer.")


def batches(data: Iterable, caller: str) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The ``(X, target)`` batches of ``data``, each checked to be a pair of tensors (types only: no value read)."""
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(x, torch.Tensor) for x in data):
        raise TypeError(
            f"{caller} expected data as batches of (X, target) pairs, found one (X, target) pair of tensors; pass "
            "[(X, target)] for one batch, or dlref.data.batches.Batches(X, target, batch_size=128) for mini-batches."
        )
    for batch in data:
        pair = isinstance(batch, (tuple, list)) and len(batch) == 2
        if not (pair and all(isinstance(x, torch.Tensor) for x in batch)):
            found = (f"a {type(batch).__name__} of {', '.join(type(x).__name__ for x in batch)}"
                     if isinstance(batch, (tuple, list)) else f"a {type(batch).__name__}")
            raise TypeError(
                f"{caller} expected each batch to be an (X, target) pair of tensors, found {found}; make the batches "
                "(torch.as_tensor(X), torch.as_tensor(target)), e.g. with dlref.data.batches.Batches(X, target, 128)."
            )
        yield batch


def train(
    model: nn.Module,
    data: Iterable,
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    epochs: int = 1,
    on_epoch_end: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Train for ``epochs`` passes over ``data``; returns the mean training loss of each epoch."""
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"train expected epochs >= 1, found {epochs}; pass how many passes over the data to make.")
    if isinstance(data, Iterator) and epochs > 1:
        raise ValueError(
            f"train expected data it can read once per epoch for epochs={epochs}, found a one-shot "
            f"{type(data).__name__} that is empty after its first pass; pass a list (list(data)), a Batches or a "
            "DataLoader, or epochs=1."
        )
    if not callable(loss_fn) or not (hasattr(optimizer, "update") or hasattr(optimizer, "step")):
        raise TypeError(
            f"train expected train(model, data, loss_fn, optimizer), found loss_fn a {type(loss_fn).__name__} and "
            f"optimizer a {type(optimizer).__name__}; pass e.g. train(model, data, dlref.cross_entropy, "
            "dlref.SGD(model.parameters(), lr=0.1))."
        )
    model = as_model(model)  # a torch module becomes a one-layer Model: model.predict, model.W
    check_output(model, loss_fn, "train")  # the softmax trap, from the layers alone
    loss_fn = CheckedOnce(loss_fn)  # the labels' range is read back for the first batch only
    lr = optimizer.param_groups[0]["lr"] if getattr(optimizer, "param_groups", None) else None
    optimizer = optimizer if hasattr(optimizer, "update") else _Update(optimizer)
    device, history, guard, step = device_of(model), [], DivergenceGuard(model.parameters()), 0
    model.train()  # dropout on
    for epoch in range(epochs):
        total, count = torch.zeros((), dtype=torch.float64, device=device), 0
        for X, target in batches(data, "train"):
            X, target = X.to(device, non_blocking=True), target.to(device, non_blocking=True)
            Y = model.predict(X)
            loss = loss_fn(Y, target)  # the slide's LossFunction(Y, target)
            optimizer.update(model.W, loss)  # ∂L/∂W by back-propagation, then W ← W − η ∂L/∂W
            guard.watch(loss, step)  # on the device: no sync per step
            step += 1
            if guard.due(step):
                guard.check(step, float(lr) if lr is not None else None, f" (epoch {epoch + 1})")
            total += loss.detach() * len(X)  # summed on the device: no sync per step
            count += len(X)
        if count == 0:
            raise ValueError(
                f"train found no batches in data in epoch {epoch + 1}; pass a non-empty list, Batches or DataLoader "
                "of (X, target) batches that can be read once per epoch."
            )
        guard.check(step, float(lr) if lr is not None else None, f" (epoch {epoch + 1})")
        history.append(total.item() / count)
        if on_epoch_end is not None:
            on_epoch_end(epoch, history[-1])
    return history
