"""train — the "Training" slide's loop, in plain Python.

    for each batch (X, target) in data:
        Y = model.predict(X)
        loss = LossFunction(Y, target)
        optimizer.update(model.W, loss)      # back-propagation, then W ← W − η ∂L/∂W

``data`` is any iterable of ``(X, target)`` batches that can be read once per epoch (a list,
``dlref.data.batches.Batches``, a ``DataLoader``). ``model`` is a ``dlref.Model`` or any ``nn.Module``;
``optimizer`` is ``dlref.SGD`` or any torch optimizer: the one ``update`` of ``dlref/backpropagation.py``
(``zero_grad``, ``backward`` to ``model.W``, ``step``) is ``dlref.SGD``'s method and is called for the
others. Torch twin: the plain loop ``optimizer.zero_grad(); loss_fn(model(X), target).backward();
optimizer.step()`` (``tests/test_training.py``). The Lightning path (``dlref.lightning``) runs the same
three lines per step; ``tests/test_lightning.py`` checks both give the same parameters.

No tensor is read back to the host at every step: the checks read structure, before the loop, and a loss that
stops being finite is caught by ``dlref.divergence.DivergenceGuard`` (a flag on the device, read every 50 steps
and at each epoch's end), which puts back the last good weights and raises ``DivergenceError`` before
``on_epoch_end`` could evaluate non-finite ones.
"""

from collections.abc import Callable, Iterable
from functools import partial

import torch
from torch import nn

from . import checks
from .backpropagation import update
from .divergence import DivergenceGuard


def train(
    model: nn.Module,
    data: Iterable,
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    epochs: int = 1,
    on_epoch_end: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Train for ``epochs`` passes over ``data``; returns the mean training loss of each epoch."""
    checks.train_arguments(model, data, loss_fn, optimizer, epochs)  # and the softmax trap, before any step
    model = checks.as_model(model)  # a torch module becomes a one-layer Model: model.predict, model.W
    loss_fn = checks.CheckedOnce(loss_fn)  # the labels' range is read back for the first batch only
    optimizer_update = getattr(optimizer, "update", None) or partial(update, optimizer)  # dlref.SGD's, or any's
    lr = optimizer.param_groups[0]["lr"] if getattr(optimizer, "param_groups", None) else None
    device, history, guard, step = checks.device_of(model), [], DivergenceGuard(model.parameters()), 0
    model.train()  # dropout on
    for epoch in range(epochs):
        total, count = torch.zeros((), dtype=torch.float64, device=device), 0
        for X, target in checks.batches(data, "train"):  # (X, target) pairs of tensors
            X, target = X.to(device, non_blocking=True), target.to(device, non_blocking=True)
            Y = model.predict(X)
            loss = loss_fn(Y, target)  # the slide's LossFunction(Y, target)
            optimizer_update(model.W, loss)  # optimizer.update: ∂L/∂W by back-propagation, then W ← W − η ∂L/∂W
            guard.watch(loss, step)  # on the device: no sync per step
            step += 1
            if guard.due(step):
                guard.check(step, float(lr) if lr is not None else None, f" (epoch {epoch + 1})")
            total += loss.detach() * len(X)  # summed on the device: no sync per step
            count += len(X)
        checks.epoch(count, epoch)  # no batches: empty data, or a stream already read
        guard.check(step, float(lr) if lr is not None else None, f" (epoch {epoch + 1})")
        history.append(total.item() / count)
        if on_epoch_end is not None:
            on_epoch_end(epoch, history[-1])
    return history
