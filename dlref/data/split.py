"""Hold-out split — the "Evaluation" slide: train / validation / test.

The validation set is cut from the training data with scikit-learn's
``train_test_split``, seeded by its own ``random_state`` (independent of the
global RNG) and stratified by label by default, so every class keeps its share.
The test set is never part of it.
"""

import torch
from sklearn.model_selection import train_test_split


def holdout(labels: torch.Tensor, val_size: int | float, seed: int = 0, stratify: bool = True):
    """Return ``(train_idx, val_idx)``: disjoint, sorted index tensors covering ``labels``."""
    n = len(labels)
    if isinstance(val_size, int) and not 0 < val_size < n:
        raise ValueError(
            f"holdout expected 0 < val_size < {n} examples, found val_size={val_size}; "
            "pass a smaller validation size or more data."
        )
    train_idx, val_idx = train_test_split(
        torch.arange(n).numpy(), test_size=val_size, random_state=seed,
        stratify=labels.cpu().numpy() if stratify else None,
    )
    return torch.from_numpy(train_idx).sort().values, torch.from_numpy(val_idx).sort().values
