"""Validation schemes — the "Evaluation" slide: hold-out, K-fold, iterated K-fold with shuffling.

All three cut validation data out of the *training* set; the test set is never part of them.

- hold-out: the slide's ``[train, validation] = split(rawData, 0.8)`` (``dlref.split``), one split — quick, but the
  score depends on which examples land in the one validation set. ``validation_split`` gives its indices.
- ``kfold``: the data in ``K`` disjoint folds (``KFold`` / ``StratifiedKFold``); fold ``k`` validates a model trained
  on the other ``K − 1``. The score is the mean over the ``K`` folds.
- ``iterated_kfold``: K-fold ``P`` times, shuffling before each (``RepeatedKFold`` / ``RepeatedStratifiedKFold``):
  ``P·K`` models, for small data where one K-fold still varies.

Each returns ``(train_idx, val_idx)`` pairs of sorted int64 index tensors into ``labels``, seeded by its own ``seed``
(never the global RNG) and stratified by label by default. ``--data.val_size`` is the *validation* share or count,
as Lightning and scikit-learn users expect; ``train_share`` turns it into the slide's training share. Before any
split, a training set comes in through ``first`` (``--data.limit``) and ``check_labels`` (once per set).
"""

import math

import torch
from sklearn.model_selection import KFold, RepeatedKFold, RepeatedStratifiedKFold, StratifiedKFold

from dlref import split


def check_limit(limit: int | None) -> None:
    """``--data.limit``: an int >= 1, or ``None`` for all the examples."""
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ValueError(f"expected limit as an int >= 1 (the first N training images) or None for all, found "
                         f"{limit!r}; pass e.g. --data.limit=10000, or leave it out.")


def first(X: torch.Tensor, t: torch.Tensor, limit: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``limit`` examples of ``(X, t)`` (``--data.limit``, for quick runs), or all of them for ``None``."""
    check_limit(limit)
    return (X, t) if limit is None else (X[:limit], t[:limit])


def check_labels(t: torch.Tensor, num_classes: int, who: str, what: str) -> None:
    """One set's labels, where the set comes in (never per batch): at least one, integers ``0 … num_classes − 1``."""
    if len(t) == 0:
        raise ValueError(f"{who} expected at least one {what} image, found none; check the data "
                         "(and --data.limit, --data.val_size).")
    if torch.is_floating_point(t) or int(t.min()) < 0 or int(t.max()) >= num_classes:
        found = f"{t.dtype} labels" if torch.is_floating_point(t) else f"labels {int(t.min())}..{int(t.max())}"
        raise ValueError(f"{who} expected integer {what} labels 0..{num_classes - 1}, found "
                         f"{found}; fix the labels, or pass num_classes.")


def train_share(labels: torch.Tensor, val_size: int | float, stratify: bool = True) -> float:
    """``val_size`` (the validation share, or a count) as the training share ``fraction`` that ``dlref.split`` takes.

    A share counts ``ceil(val_size · n)`` validation examples, as scikit-learn counts it; ``split`` keeps
    ``round(fraction · n)`` for training, so ``fraction = (n − count) / n`` gives exactly the count asked for.
    """
    n = len(labels)
    count = val_size if isinstance(val_size, int) else math.ceil(val_size * n) if isinstance(val_size, float) else None
    if count is None or (isinstance(val_size, float) and not 0 < val_size < 1) or not 0 < count < n:
        raise ValueError(
            f"holdout expected a validation size that leaves examples on both sides of {n} (a count 0 < val_size < "
            f"{n}, or a fraction 0 < val_size < 1), found val_size={val_size!r}; pass e.g. val_size=0.1 "
            f"(--data.val_size=0.1){'' if n > 1 else ', and more data'}."
        )
    per_class = torch.unique(labels, return_counts=True)[1]
    classes = len(per_class)
    if stratify and (count < classes or n - count < classes or int(per_class.min()) < 2):  # every class on both sides
        raise ValueError(
            f"holdout expected room for every one of the {classes} classes on both sides and at least 2 examples of "
            f"each, found {n} examples with a validation size of {count}; pass more data (e.g. a larger --data.limit) "
            "or a validation size between them."
        )
    return (n - count) / n


def validation_split(labels: torch.Tensor, val_size: int | float, seed: int = 0, stratify: bool = True):
    """``(train_idx, val_idx)``: the slide's ``split`` of the indices ``0 … n − 1``, ``val_size`` held out."""
    pair = (torch.arange(len(labels)), labels.cpu())
    (train_idx, _), (val_idx, _) = split(pair, train_share(labels, val_size, stratify), seed=seed, stratify=stratify)
    return train_idx, val_idx


def _check(name: str, labels: torch.Tensor, folds: int, repeats: int, stratify: bool) -> None:
    n = len(labels)
    if not isinstance(folds, int) or folds < 2:
        raise ValueError(f"{name} expected folds >= 2, found folds={folds!r}; pass e.g. folds=5 (or use holdout).")
    if folds > n:
        raise ValueError(f"{name} expected at most one fold per example, found folds={folds} for {n} examples; "
                         f"pass folds <= {n} or use more data.")
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"{name} expected repeats >= 1, found repeats={repeats!r}; pass e.g. repeats=3.")
    largest = int(torch.unique(labels, return_counts=True)[1].max()) if stratify else n
    if folds > largest:
        raise ValueError(f"{name} expected a class with at least folds={folds} examples to stratify by, found at most "
                         f"{largest} per class; pass fewer folds, more data, or stratify=False.")


def _pairs(splitter, labels: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    y = labels.cpu().numpy()  # scikit-learn gives each fold's indices in ascending order
    return [(torch.from_numpy(tr), torch.from_numpy(va)) for tr, va in splitter.split(y.reshape(-1, 1), y)]


def kfold(labels: torch.Tensor, folds: int = 5, seed: int = 0, stratify: bool = True, shuffle: bool = True):
    """``folds`` ``(train_idx, val_idx)`` pairs; the validation folds are disjoint and cover ``labels``.

    ``shuffle=False`` cuts the folds in the data's order (``seed`` is then unused): only safe for data that is not
    sorted by class or by time of collection.
    """
    _check("kfold", labels, folds, 1, stratify)
    splitter = StratifiedKFold if stratify else KFold
    return _pairs(splitter(folds, shuffle=shuffle, random_state=seed if shuffle else None), labels)


def iterated_kfold(labels: torch.Tensor, folds: int = 5, repeats: int = 3, seed: int = 0, stratify: bool = True):
    """``repeats · folds`` pairs: ``repeats`` K-folds in a row, each on a new shuffle of the data.

    Pairs ``r·folds`` to ``r·folds + folds − 1`` are repeat ``r``: their validation folds cover ``labels`` once.
    """
    _check("iterated_kfold", labels, folds, repeats, stratify)
    splitter = RepeatedStratifiedKFold if stratify else RepeatedKFold
    return _pairs(splitter(n_splits=folds, n_repeats=repeats, random_state=seed), labels)
