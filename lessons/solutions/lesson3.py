"""Lesson 3's exercises, solved: the L2 penalty, and dropout."""

import torch


def l2_penalty(weights, lam):
    """``λ/2 · Σ ‖W‖²`` over every tensor: its gradient is ``λ·W``, what weight decay adds."""
    return lam / 2 * sum((W**2).sum() for W in weights)


def dropout(X, p, training):
    """Inverted dropout: keep each entry with probability ``1 − p`` and scale it by ``1/(1 − p)``; in
    evaluation, ``X`` as it is."""
    if not training:
        return X
    keep = (torch.rand_like(X) >= p).to(X.dtype)  # 1 with probability 1 − p
    return X * keep / (1 - p)
