"""train and evaluate — the "Training" and "Evaluation" slides, in plain Python.

    for each batch (X, t):  Y = model.predict(X); loss = loss_fn(Y, t); update
    evaluate(model, data) → {"accuracy": …, "loss": …}

``data`` is any iterable of ``(X, target)`` batches (a list, a ``DataLoader``).
The Lightning path (``dlref.lightning``) runs the same three lines per step;
``tests/test_lightning.py`` checks both give the same parameters.
"""

from collections.abc import Callable, Iterable

import torch
from torch import nn


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def train(
    model: nn.Module,
    data: Iterable,
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    epochs: int = 1,
    on_epoch_end: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Train for ``epochs`` passes over ``data``; returns the mean training loss of each epoch."""
    if epochs < 1:
        raise ValueError(f"train expected epochs >= 1, found {epochs}; pass how many passes over the data to make.")
    device, history = _device(model), []
    model.train()
    for epoch in range(epochs):
        total, count = torch.zeros((), dtype=torch.float64, device=device), 0
        for X, t in data:
            X, t = X.to(device, non_blocking=True), t.to(device, non_blocking=True)
            Y = model(X)  # predict
            loss = loss_fn(Y, t)
            optimizer.zero_grad()
            loss.backward()  # ∂L/∂W for every W
            optimizer.step()  # W ← W − η ∂L/∂W
            total += loss.detach() * len(X)  # summed on the device: no sync per step
            count += len(X)
        history.append(total.item() / max(count, 1))
        if on_epoch_end is not None:
            on_epoch_end(epoch, history[-1])
    return history


@torch.no_grad()
def evaluate(model: nn.Module, data: Iterable, loss_fn: Callable) -> dict[str, float]:
    """Accuracy and mean loss of ``model`` over every example in ``data``."""
    device, was_training = _device(model), model.training
    model.eval()  # dropout off
    loss_sum, correct = torch.zeros((), dtype=torch.float64, device=device), torch.zeros((), device=device)
    count = 0
    for X, t in data:
        X, t = X.to(device, non_blocking=True), t.to(device, non_blocking=True)
        Y = model(X)
        loss_sum += loss_fn(Y, t) * len(X)
        labels = t if not torch.is_floating_point(t) else t.argmax(dim=1)
        correct += (Y.argmax(dim=1) == labels).sum()
        count += len(X)
    model.train(was_training)
    if count == 0:
        raise ValueError("evaluate found no examples in data; pass a non-empty iterable of (X, target) batches.")
    return {"accuracy": correct.item() / count, "loss": loss_sum.item() / count}
