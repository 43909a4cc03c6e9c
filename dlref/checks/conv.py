"""Guards of the "CNN" slide: ``ConvLayer``'s sizes, the images it and the pooling layers are given, and the
``nn.Conv2d`` it copies; ``Flatten``'s and ``Rows``' inputs, which turn images into rows and sequences."""

import torch
from torch import nn

from .layers import activation, float_input


def _pair(value, name: str) -> tuple[int, int]:
    """``3 → (3, 3)``; ``(3, 5)`` stays; anything else is refused with a sentence."""
    pair = (value, value) if isinstance(value, int) else tuple(value) if isinstance(value, (tuple, list)) else None
    if pair is None or len(pair) != 2 or not all(isinstance(v, int) for v in pair):
        raise ValueError(f"ConvLayer expected {name} as an int or a pair of ints, found {value!r}; pass e.g. {name}=3.")
    return pair


def conv_layer(in_channels: int, out_channels: int, kernel_size, stride, padding, activate):
    """``ConvLayer``'s sizes (ints or pairs of ints), then its ``activate``; returns the activation."""
    kernel_size, stride, padding = _pair(kernel_size, "kernel_size"), _pair(stride, "stride"), _pair(padding, "padding")
    if min(in_channels, out_channels, *kernel_size, *stride) < 1 or min(padding) < 0:
        raise ValueError(f"ConvLayer expected positive channels, kernel_size and stride and padding >= 0, found "
                         f"in_channels={in_channels}, out_channels={out_channels}, kernel_size={kernel_size}, "
                         f"stride={stride}, padding={padding}; pass e.g. ConvLayer(1, 32, 3, padding=1).")
    return activation(activate, "ConvLayer")


def conv_input(layer: nn.Module, X: torch.Tensor) -> None:
    """``X`` for ``ConvLayer.forward``: float images with ``in_channels`` channels, no smaller than the kernel."""
    float_input("ConvLayer", X)
    c = layer.in_channels
    if X.dim() not in (3, 4):
        raise ValueError(f"ConvLayer expected images of shape (batch, {c}, height, width) or ({c}, height, width), "
                         f"found {tuple(X.shape)}; reshape flat rows with X.view(-1, {c}, height, width).")
    if X.shape[-3] != c:
        hint = f"build the layer with in_channels={X.shape[-3]}, or match the previous layer's out_channels"
        if X.dim() == 3 and c == 1:  # (batch, height, width): grey images without their channel axis
            hint = f"add the channel axis with X.unsqueeze(1) (batch, {c}, height, width)"
        elif X.dim() == 4 and X.shape[-1] == c:  # (batch, height, width, channels), numpy's layout
            hint = "move the channels first with X.permute(0, 3, 1, 2)"
        raise ValueError(f"ConvLayer expected {c} input channels, found {X.shape[-3]} in {tuple(X.shape)}; {hint}.")
    (kh, kw), (ph, pw) = layer.kernel_size, layer.padding
    if X.shape[-2] + 2 * ph < kh or X.shape[-1] + 2 * pw < kw:
        raise ValueError(f"ConvLayer expected images at least as large as the kernel {layer.kernel_size} after "
                         f"padding {layer.padding}, found {tuple(X.shape[-2:])}; use a smaller kernel, more padding, "
                         "or fewer poolings.")


def conv_twin(conv: nn.Conv2d) -> None:
    """``ConvLayer.from_torch``'s ``nn.Conv2d``: nothing the slide's convolution lacks."""
    found = [msg for bad, msg in (
        (conv.groups != 1, f"groups={conv.groups}"),
        (tuple(conv.dilation) != (1, 1), f"dilation={tuple(conv.dilation)}"),
        (conv.padding_mode != "zeros", f"padding_mode={conv.padding_mode!r}"),
        (isinstance(conv.padding, str), f"padding={conv.padding!r}")) if bad]
    if found:
        raise ValueError("ConvLayer.from_torch expected an nn.Conv2d with groups=1, dilation=1, zero padding given as "
                         f"numbers, as on the slide; found {', '.join(found)}: build the nn.Conv2d without them.")


def max_pool(kernel_size: int, stride: int) -> None:
    if not (isinstance(kernel_size, int) and isinstance(stride, int) and kernel_size >= 1 and stride >= 1):
        raise ValueError(f"MaxPool expected a positive int kernel_size and stride, found kernel_size={kernel_size!r}, "
                         f"stride={stride!r}; pass e.g. MaxPool(2).")


def pool_input(kernel_size: int, X: torch.Tensor) -> None:
    """``X`` for ``MaxPool.forward``: float images at least ``kernel_size × kernel_size``."""
    float_input("MaxPool", X)
    if X.dim() not in (3, 4) or min(X.shape[-2:]) < kernel_size:
        raise ValueError(f"MaxPool expected images of shape (batch, channels, height, width) at least "
                         f"{kernel_size}×{kernel_size}, found {tuple(X.shape)}; pool the output of a ConvLayer, "
                         "or use fewer poolings.")


def flatten_input(X: torch.Tensor) -> None:
    if not isinstance(X, torch.Tensor) or X.dim() < 2:
        found = tuple(X.shape) if isinstance(X, torch.Tensor) else type(X).__name__
        raise ValueError(f"Flatten expected a batch of shape (batch, ...), found {found}; add a batch axis with "
                         "X.unsqueeze(0).")


def rows_width(width: int) -> None:
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"Rows expected a positive int width, found {width!r}; pass the image width, e.g. 28.")


def rows_input(width: int, X: torch.Tensor) -> None:
    """``X`` for ``Rows.forward``: a batch whose size per example is a multiple of ``width``, not one image."""
    float_input("Rows", X)
    per_example = X[0].numel() if X.dim() >= 2 else 0
    if X.dim() < 2 or per_example % width != 0:
        raise ValueError(f"Rows expected a batch of images whose size per example is a multiple of the width "
                         f"{width}, found {tuple(X.shape)}; pass images (batch, 1, height, {width}) or "
                         f"flat rows (batch, height·{width}).")
    if X.dim() == 2 and per_example == width:  # (28, 28): one image, not 28 images of one row
        raise ValueError(f"Rows expected a batch of images (batch, 1, height, {width}) or flat rows (batch, "
                         f"height·{width}), found {tuple(X.shape)}, which would read as {X.shape[0]} images of one "
                         "row; for one image add the batch axis with X.unsqueeze(0).")
