"""ConvLayer — the "CNN" slide: ``Y = activate(W * X + B)`` where ``*`` is convolution.

The slide defines convolution as ``(f*g)(t) = ∫ f(τ) g(t − τ) dτ``: one function slides, flipped,
over the other. On images the integral becomes a sum over a small window, for every output
channel ``o`` and position ``(y, x)``:

    Y[o, y, x] = activate(Σ_c Σ_{u,v} W[o, c, u, v] · X[c, s·y + u − p, s·x + v − p] + B[o])

with stride ``s`` and zero padding ``p``. Like every deep-learning framework, this computes
cross-correlation — the kernel is not flipped (``g(t + τ)`` rather than ``g(t − τ)``). Since ``W``
is learned, a flipped kernel is just another ``W``: the layer can learn exactly the same functions.

Shapes: ``W`` is ``(out_channels, in_channels, kh, kw)`` like ``nn.Conv2d.weight``; ``B`` is
``(out_channels,)``. ``X`` is ``(batch, in_channels, H, W)``, or one image ``(in_channels, H, W)``.

Memory layout: ``W`` and the images are kept "channels last" (``torch.channels_last``): the same
shapes and the same numbers, with a pixel's channels stored side by side. On a CPU, oneDNN's
convolutions and the max pooling after them run faster that way (measured in the README, "The three
networks"); the output keeps that layout, so the next layer reads it without a copy.

Torch twin: ``nn.Conv2d`` followed by the activation (``ConvLayer.from_torch``).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .activations import activation, relu
from .errors import check_float


def _pair(value, name: str) -> tuple[int, int]:
    """``3 → (3, 3)``; ``(3, 5)`` stays; anything else is refused with a sentence."""
    pair = (value, value) if isinstance(value, int) else tuple(value) if isinstance(value, (tuple, list)) else None
    if pair is None or len(pair) != 2 or not all(isinstance(v, int) for v in pair):
        raise ValueError(f"ConvLayer expected {name} as an int or a pair of ints, found {value!r}; pass e.g. {name}=3.")
    return pair


class ConvLayer(nn.Module):
    """A 2-D convolution with weights ``W``, biases ``B`` and an activation."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, activate=relu):
        super().__init__()
        self.kernel_size, self.stride = _pair(kernel_size, "kernel_size"), _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
        if min(in_channels, out_channels, *self.kernel_size, *self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(
                f"ConvLayer expected positive channels, kernel_size and stride and padding >= 0, found "
                f"in_channels={in_channels}, out_channels={out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}; pass e.g. ConvLayer(1, 32, 3, padding=1)."
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.activate = activation(activate, "ConvLayer")
        self.W = nn.Parameter(torch.empty(out_channels, in_channels, *self.kernel_size,
                                          memory_format=torch.channels_last))
        self.B = nn.Parameter(torch.empty(out_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # nn.Conv2d's initialisation: kaiming_uniform_(a=sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
        # the bias too, with fan_in = in_channels · kh · kw.
        bound = 1 / math.sqrt(self.in_channels * self.kernel_size[0] * self.kernel_size[1])
        nn.init.uniform_(self.W, -bound, bound)
        nn.init.uniform_(self.B, -bound, bound)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        check_float("ConvLayer", X)
        c = self.in_channels
        if X.dim() not in (3, 4):
            raise ValueError(
                f"ConvLayer expected images of shape (batch, {c}, height, width) or ({c}, height, width), "
                f"found {tuple(X.shape)}; reshape flat rows with X.view(-1, {c}, height, width)."
            )
        if X.shape[-3] != c:
            hint = f"build the layer with in_channels={X.shape[-3]}, or match the previous layer's out_channels"
            if X.dim() == 3 and c == 1:  # (batch, height, width): grey images without their channel axis
                hint = f"add the channel axis with X.unsqueeze(1) (batch, {c}, height, width)"
            elif X.dim() == 4 and X.shape[-1] == c:  # (batch, height, width, channels), numpy's layout
                hint = "move the channels first with X.permute(0, 3, 1, 2)"
            raise ValueError(f"ConvLayer expected {c} input channels, found {X.shape[-3]} in {tuple(X.shape)}; {hint}.")
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        if X.shape[-2] + 2 * ph < kh or X.shape[-1] + 2 * pw < kw:
            raise ValueError(
                f"ConvLayer expected images at least as large as the kernel {self.kernel_size} after padding "
                f"{self.padding}, found {tuple(X.shape[-2:])}; use a smaller kernel, more padding, or fewer poolings."
            )
        if X.dim() == 4:
            X = X.to(memory_format=torch.channels_last)  # no copy when it already is (a previous ConvLayer's output)
        # (batch, out_channels, (H + 2p − kh) // s + 1, (W + 2p − kw) // s + 1)
        return self.activate(F.conv2d(X, self.W, self.B, stride=self.stride, padding=self.padding))

    @classmethod
    def from_torch(cls, conv: nn.Conv2d, activate=relu) -> "ConvLayer":
        """A ``ConvLayer`` holding a copy of ``conv``'s weight and bias."""
        found = [msg for bad, msg in (
            (conv.groups != 1, f"groups={conv.groups}"),
            (tuple(conv.dilation) != (1, 1), f"dilation={tuple(conv.dilation)}"),
            (conv.padding_mode != "zeros", f"padding_mode={conv.padding_mode!r}"),
            (isinstance(conv.padding, str), f"padding={conv.padding!r}"),
        ) if bad]
        if found:
            raise ValueError(
                "ConvLayer.from_torch expected an nn.Conv2d with groups=1, dilation=1, zero padding given as "
                f"numbers, as on the slide; found {', '.join(found)}: build the nn.Conv2d without them."
            )
        layer = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, activate)
        layer.to(device=conv.weight.device, dtype=conv.weight.dtype)
        with torch.no_grad():
            layer.W.copy_(conv.weight)
            layer.B.copy_(conv.bias) if conv.bias is not None else layer.B.zero_()
        return layer

    def extra_repr(self) -> str:
        name = getattr(self.activate, "__name__", type(self.activate).__name__)
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, activate={name}")
