"""Lesson 1's exercises, solved: ReLU, a layer's forward, the two losses, the SGD update, back-propagation by hand."""

import torch


def relu(x):
    """The slide's ``ReLU = x > 0 ? x : 0``, entry by entry: ``torch.where`` chooses per entry."""
    return torch.where(x > 0, x, torch.zeros_like(x))


def layer_forward(W, B, X, activate):
    """``Y = activate(W·X + B)``: ``W @ X`` for one example ``(in,)``; ``X @ W.T`` for a batch ``(batch, in)``."""
    if X.dim() == 1:
        return activate(W @ X + B)
    return activate(X @ W.T + B)


def cross_entropy(y, t):
    """``E = −Σ_k t_k log y_k`` for each example (the last axis), then the mean over the batch."""
    return (-(t * torch.log(y)).sum(dim=-1)).mean()


def mean_squared_error(y, t):
    """``E = ½ Σ_k (y_k − t_k)²`` for each example, then the mean over the batch."""
    return (0.5 * ((y - t) ** 2).sum(dim=-1)).mean()


def sgd_update(W, gradients, eta):
    """``W ← W − η·gradients``, as a new tensor: ``W`` itself is left as it is."""
    return W - eta * gradients


def gradients(X, T, W, B):
    """``∂E/∂W`` and ``∂E/∂B`` for ``Y = X @ W.T + B`` and ``E`` = the batch mean of ``½ Σ_k (y_k − t_k)²``.

    Chain rule: ``∂E/∂Y = (Y − T) / batch``; ``Y_nj = Σ_i X_ni W_ji + B_j``, so ``∂E/∂W = (∂E/∂Y).T @ X`` and
    ``∂E/∂B`` sums ``∂E/∂Y`` over the batch.
    """
    Y = X @ W.T + B
    dY = (Y - T) / len(X)  # (batch, out)
    return dY.T @ X, dY.sum(dim=0)  # (out, in), (out,)
