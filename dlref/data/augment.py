"""Random shifts — data augmentation for images served in whole batches.

Moving a digit by a pixel or two does not change what it is, so a network trained on shifted copies sees "new"
examples of every class at no cost: the remedy for overfitting that the slides list beside more data, smaller
networks, weight decay and dropout. Each image moves by its own offset ``(dy, dx)``, each in ``[-k, k]``; pixels
shifted in from outside are zero — in normalised units, the background value ``(0 − mean) / std`` (``fill``).
"""

import torch
import torch.nn.functional as F


def shift(X: torch.Tensor, offsets: torch.Tensor, max_shift: int, fill: float = 0.0) -> torch.Tensor:
    """``X`` (batch, channels, height, width) with image ``b`` moved down ``offsets[b, 0]`` and right ``offsets[b, 1]``.

    One gather for the whole batch: no per-image Python loop. ``|offsets| <= max_shift``.
    """
    if X.dim() != 4 or offsets.shape != (X.shape[0], 2):
        raise ValueError(
            f"shift expected images (batch, channels, height, width) and offsets (batch, 2), found "
            f"{tuple(X.shape)} and {tuple(offsets.shape)}; pass images as X.view(-1, 1, 28, 28)."
        )
    if max_shift == 0:
        return X
    k = max_shift
    batch, _, height, width = X.shape
    padded = F.pad(X, (k, k, k, k), value=fill)  # (batch, channels, height + 2k, width + 2k)
    offsets = offsets.to(X.device)
    # Output pixel (y, x) reads padded pixel (y + k − dy, x + k − dx): the image moves by (+dy, +dx).
    rows = (k - offsets[:, 0, None]) + torch.arange(height, device=X.device)  # (batch, height)
    cols = (k - offsets[:, 1, None]) + torch.arange(width, device=X.device)  # (batch, width)
    b = torch.arange(batch, device=X.device)[:, None, None]
    out = padded[b, :, rows[:, :, None], cols[:, None, :]]  # (batch, height, width, channels)
    return out.permute(0, 3, 1, 2).contiguous()
