"""Checks at the library's door, so a learner reads one sentence, not a torch traceback.

Each message says what was expected, what was found, and what to do.
"""

import torch


def check_float(name: str, X: torch.Tensor) -> None:
    """Raise ``TypeError`` unless ``X`` is a floating-point tensor."""
    if isinstance(X, tuple) and len(X) == 2 and isinstance(X[1], tuple):  # an LSTMLayer's (H, (h_T, c_T))
        raise TypeError(f"{name} expected a torch.Tensor, found an LSTMLayer's (H, (h_T, c_T)); put "
                        "dlref.LastHidden() after the LSTMLayer to pass h_T on.")
    if not isinstance(X, torch.Tensor):
        raise TypeError(
            f"{name} expected a torch.Tensor, found {type(X).__name__}; "
            "convert it with torch.as_tensor(X, dtype=torch.float32)."
        )
    if not torch.is_floating_point(X):
        how = ("X.float() / 255 for pixels 0..255 (dlref.data.normalize for MNIST's mean and std)"
               if X.dtype == torch.uint8 else "X.float()")
        raise TypeError(f"{name} expected a floating-point tensor, found dtype {X.dtype}; convert it with {how}.")


def check_features(name: str, X: torch.Tensor, expected: int, hint: str = "") -> None:
    """Raise unless ``X`` is a float tensor whose last axis has ``expected`` entries."""
    check_float(name, X)
    if X.dim() == 0 or X.shape[-1] != expected:
        raise ValueError(
            f"{name} expected input of shape (batch, {expected}) or ({expected},), found {tuple(X.shape)}; "
            f"{hint or _reshape_hint(X, expected)}"
        )


def _reshape_hint(X: torch.Tensor, expected: int) -> str:
    """What to do with an input of the wrong shape: a reshape where its entries would fit, else another layer."""
    if X.dim() > 2 and X[0].numel() == expected:  # a batch of images: (2, 1, 28, 28) for 784 inputs
        return "flatten each example to one row with X.flatten(1), or build the layer with the right size."
    if X.dim() >= 2 and X.numel() % expected == 0:  # e.g. one 28×28 image for 784 inputs: X.reshape(-1, 784)
        return (f"reshape the input to one row per example, X.reshape(-1, {expected}), or build the layer with "
                "the right size.")
    return "reshape the input (e.g. X.flatten(1)) or build the layer with the right size."
