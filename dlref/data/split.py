"""Validation schemes — the "Evaluation" slide: hold-out, K-fold, iterated K-fold with shuffling.

All three cut validation data out of the *training* set; the test set is never part of them.

- ``holdout``: one split, ``train_test_split`` — quick, but the score depends on which
  examples happen to land in the one validation set.
- ``kfold``: the data in ``K`` disjoint folds (``KFold`` / ``StratifiedKFold``); fold ``k``
  validates a model trained on the other ``K − 1``. The score is the mean over the ``K`` folds.
- ``iterated_kfold``: K-fold ``P`` times, shuffling before each (``RepeatedKFold`` /
  ``RepeatedStratifiedKFold``): ``P·K`` models, for small data where one K-fold still varies.

Each returns ``(train_idx, val_idx)`` pairs of sorted int64 index tensors into ``labels``. The
slide's ``[train, validation] = split(rawData, 0.8)`` (a training share, the data itself) is
``dlref.split``; ``holdout``'s number is the *validation* share.
Every split is seeded by its own ``seed`` (scikit-learn's ``random_state``), independent of the
global RNG, and stratified by label by default, so every class keeps its share in every fold.
"""

import math

import torch
from sklearn.model_selection import (
    KFold,
    RepeatedKFold,
    RepeatedStratifiedKFold,
    StratifiedKFold,
    train_test_split,
)


def check_limit(limit: int | None) -> None:
    """``--data.limit``: an int >= 1, or ``None`` for all the examples."""
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ValueError(f"expected limit as an int >= 1 (the first N training images) or None for all, found "
                         f"{limit!r}; pass e.g. --data.limit=10000, or leave it out.")


def first(X: torch.Tensor, t: torch.Tensor, limit: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``limit`` examples of ``(X, t)`` (``--data.limit``, for quick runs), or all of them for ``None``."""
    check_limit(limit)
    return (X, t) if limit is None else (X[:limit], t[:limit])


def holdout(labels: torch.Tensor, val_size: int | float, seed: int = 0, stratify: bool = True):
    """Return ``(train_idx, val_idx)``: disjoint, sorted index tensors covering ``labels``.

    ``val_size`` is the validation share (a fraction) or count: ``holdout(labels, 0.2)`` keeps 80% for
    training, as the slide's ``split(rawData, 0.8)`` (``dlref.split``) does.
    """
    n = len(labels)
    # A fraction counts as scikit-learn counts it: ceil(val_size · n) validation examples.
    count = val_size if isinstance(val_size, int) else math.ceil(val_size * n) if isinstance(val_size, float) else None
    if count is None or (isinstance(val_size, float) and not 0 < val_size < 1) or not 0 < count < n:
        raise ValueError(
            f"holdout expected a validation size that leaves examples on both sides of {n} (a count 0 < val_size < "
            f"{n}, or a fraction 0 < val_size < 1), found val_size={val_size!r}; pass e.g. val_size=0.1 "
            f"(--data.val_size=0.1){'' if n > 1 else ', and more data'}."
        )
    per_class = torch.unique(labels, return_counts=True)[1]
    classes = len(per_class)
    if stratify and (count < classes or n - count < classes or int(per_class.min()) < 2):  # sklearn's own limits
        raise ValueError(
            f"holdout expected room for every one of the {classes} classes on both sides and at least 2 examples of "
            f"each, found {n} examples with a validation size of {count}; pass more data (e.g. a larger --data.limit) "
            "or a validation size between them."
        )
    train_idx, val_idx = train_test_split(
        torch.arange(n).numpy(), test_size=val_size, random_state=seed,
        stratify=labels.cpu().numpy() if stratify else None,
    )
    return torch.from_numpy(train_idx).sort().values, torch.from_numpy(val_idx).sort().values


def _check(name: str, labels: torch.Tensor, folds: int, repeats: int, stratify: bool) -> None:
    n = len(labels)
    if not isinstance(folds, int) or folds < 2:
        raise ValueError(f"{name} expected folds >= 2, found folds={folds!r}; pass e.g. folds=5 (or use holdout).")
    if folds > n:
        raise ValueError(
            f"{name} expected at most one fold per example, found folds={folds} for {n} examples; "
            f"pass folds <= {n} or use more data."
        )
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"{name} expected repeats >= 1, found repeats={repeats!r}; pass e.g. repeats=3.")
    largest = int(torch.unique(labels, return_counts=True)[1].max()) if stratify else n
    if folds > largest:
        raise ValueError(
            f"{name} expected a class with at least folds={folds} examples to stratify by, found at most "
            f"{largest} per class; pass fewer folds, more data, or stratify=False."
        )


def _pairs(splitter, labels: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    y = labels.cpu().numpy()
    # sklearn returns each fold's indices in ascending order already; sort anyway, as holdout does.
    return [(torch.from_numpy(tr).sort().values, torch.from_numpy(va).sort().values)
            for tr, va in splitter.split(y.reshape(-1, 1), y)]


def kfold(labels: torch.Tensor, folds: int = 5, seed: int = 0, stratify: bool = True, shuffle: bool = True):
    """``folds`` ``(train_idx, val_idx)`` pairs; the validation folds are disjoint and cover ``labels``.

    ``shuffle=False`` cuts the folds in the data's order (``seed`` is then unused): only safe
    for data that is not sorted by class or by time of collection.
    """
    _check("kfold", labels, folds, 1, stratify)
    splitter = StratifiedKFold if stratify else KFold
    return _pairs(splitter(folds, shuffle=shuffle, random_state=seed if shuffle else None), labels)


def iterated_kfold(labels: torch.Tensor, folds: int = 5, repeats: int = 3, seed: int = 0, stratify: bool = True):
    """``repeats · folds`` pairs: ``repeats`` K-folds in a row, each on a new shuffle of the data.

    Pairs ``r·folds`` to ``r·folds + folds − 1`` are repeat ``r``: their validation folds cover
    ``labels`` once.
    """
    _check("iterated_kfold", labels, folds, repeats, stratify)
    splitter = RepeatedStratifiedKFold if stratify else RepeatedKFold
    return _pairs(splitter(n_splits=folds, n_repeats=repeats, random_state=seed), labels)
