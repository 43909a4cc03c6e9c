"""Lesson 2's exercises, solved: accuracy, and a K-fold split by hand."""


def accuracy(Y, target):
    """The share of rows whose highest score is at the target class."""
    return (Y.argmax(dim=1) == target).float().mean().item()


def kfold_split(n, k):
    """``k`` pairs ``(train_idx, val_idx)``: fold ``i`` validates on the ``i``-th block of consecutive examples.

    Like scikit-learn's ``KFold``, the first ``n % k`` folds hold one example more, so that every example
    is validated exactly once.
    """
    sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    pairs, start = [], 0
    for size in sizes:
        val = list(range(start, start + size))
        train = [j for j in range(n) if not start <= j < start + size]
        pairs.append((train, val))
        start += size
    return pairs
