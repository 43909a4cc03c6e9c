"""evaluate and split — the "Evaluation" slide.

    evaluate(model, data) → {"accuracy": …, "loss": …}
    [train, validation] = split(rawData, 0.8)

``evaluate`` runs the model without dropout and without gradients over every example of ``data``
(an iterable of ``(X, target)`` batches). With no loss given it uses the cross-entropy that
matches the model's output: ``cross_entropy_error`` after a softmax, ``cross_entropy`` on logits.
Torch twin: torchmetrics' ``MulticlassAccuracy(average="micro")``, as ``dlref.lightning`` logs it.

``split`` keeps ``fraction`` of the examples for training and the rest for validation. It takes a
tensor (one example per row), an ``(X, t)`` tuple of tensors, or a list of examples, and returns the
two parts in the same form, each in the original order. It is seeded (its own generator, not the
global RNG) and stratified when there are labels (the integer ``t`` of ``(X, t)``, or the integer
second item of ``(x, label)`` examples): every class keeps its share in both parts, to within one
example. Torch twin: scikit-learn's ``train_test_split(…, train_size=0.8, stratify=t)``. The DataModules and
``dlref.data.split.validation_split`` (the *validation* share in, indices out) use this one split.
"""

from collections.abc import Callable, Iterable

import torch
from torch import nn

from . import checks
from .loss import loss_for


@torch.no_grad()
def evaluate(model: nn.Module, data: Iterable, loss_fn: Callable | None = None) -> dict[str, float]:
    """Accuracy and mean loss of ``model`` over every example in ``data``."""
    model = checks.as_model(model)  # a torch module becomes a one-layer Model: model.predict
    loss_fn = loss_for(model) if loss_fn is None else loss_fn
    checks.output(model, loss_fn, "evaluate")  # the softmax trap, from the layers alone
    device, was_training = checks.device_of(model), model.training
    model.eval()  # dropout off
    loss_sum, correct = torch.zeros((), dtype=torch.float64, device=device), torch.zeros((), device=device)
    count = 0
    for X, target in checks.batches(data, "evaluate"):  # (X, target) pairs of tensors
        X, target = X.to(device, non_blocking=True), target.to(device, non_blocking=True)
        Y = model.predict(X)
        checks.scores(Y)  # (batch, classes >= 2): the argmax of one column is always 0
        loss_sum += loss_fn(Y, target) * len(X)
        labels = target if not torch.is_floating_point(target) else target.argmax(dim=1)
        correct += (Y.argmax(dim=1) == labels).sum()
        count += len(X)
    model.train(was_training)
    checks.evaluated(count)
    return {"accuracy": correct.item() / count, "loss": loss_sum.item() / count}


def _labels(rawData) -> torch.Tensor | None:
    """The class labels to stratify by, if ``rawData`` has them."""
    if isinstance(rawData, tuple) and not torch.is_floating_point(rawData[-1]) and rawData[-1].dim() == 1:
        return rawData[-1].cpu()
    if isinstance(rawData, list) and all(isinstance(x, (tuple, list)) and len(x) == 2 for x in rawData):
        labels = [x[1].item() if isinstance(x[1], torch.Tensor) and x[1].numel() == 1 else x[1] for x in rawData]
        if all(isinstance(label, int) and not isinstance(label, bool) for label in labels):
            return torch.tensor(labels)
    return None


def _stratified(order: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``order`` (a shuffle) rearranged so that any first part of it holds each class in its share.

    The k-th of a class's n examples (k = 0, 1, …, in shuffled order) is placed at (k + ½) / n; sorted
    by that place, the classes interleave evenly, so the first 80% hold 80% of each class, to ±1.
    """
    _, y = torch.unique(labels[order], return_inverse=True)  # the class 0, 1, … of each shuffled example
    by_class = torch.argsort(y, stable=True)  # positions in order, grouped by class, shuffled within
    counts = torch.bincount(y)
    k = torch.arange(len(order)) - (counts.cumsum(0) - counts)[y[by_class]]  # 0, 1, … within each class
    place = (k + 0.5) / counts[y[by_class]]
    return order[by_class][torch.argsort(place, stable=True)]


def split(rawData, fraction: float = 0.8, seed: int = 0, stratify: bool = True):
    """``(train, validation)``: ``fraction`` of the examples for training, the rest for validation."""
    pair = isinstance(rawData, tuple) and len(rawData) > 0 and all(isinstance(x, torch.Tensor) for x in rawData)
    # The slide's brackets, [X, t]: two tensors of one row per example each, not a list of two examples.
    two = isinstance(rawData, list) and len(rawData) == 2 and all(isinstance(x, torch.Tensor) for x in rawData)
    pair = pair or (two and rawData[0].dim() > rawData[1].dim() >= 1 and len(rawData[0]) == len(rawData[1]) > 2)
    checks.split_arguments(rawData, pair, fraction)  # a tensor, (X, t) or a list; 0 < fraction < 1 leaving both parts
    n = len(rawData[0]) if pair else len(rawData)
    n_train = round(fraction * n)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))  # a shuffle of 0 … n − 1
    labels = _labels(tuple(rawData) if pair else rawData) if stratify else None
    if labels is not None:
        order = _stratified(order, labels)
    parts = order[:n_train].sort().values, order[n_train:].sort().values  # each in the original order
    if pair:
        return tuple(type(rawData)(x[idx.to(x.device)] for x in rawData) for idx in parts)
    if isinstance(rawData, list):
        return tuple([rawData[i] for i in idx.tolist()] for idx in parts)
    return tuple(rawData[idx.to(rawData.device)] for idx in parts)
