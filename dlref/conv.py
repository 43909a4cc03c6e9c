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
convolutions and the max pooling after them run faster that way (measured in docs/slides.md, "The three
networks"); the output keeps that layout, so the next layer reads it without a copy.

Torch twin: ``nn.Conv2d`` followed by the activation (``ConvLayer.from_torch``).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from . import checks
from .activations import relu


def _pair(value) -> tuple[int, int]:
    """``3 → (3, 3)``; ``(3, 5)`` stays (``checks.conv_layer`` refuses anything else)."""
    return (value, value) if isinstance(value, int) else tuple(value)


class ConvLayer(nn.Module):
    """A 2-D convolution with weights ``W``, biases ``B`` and an activation."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, activate=relu):
        super().__init__()
        self.activate = checks.conv_layer(in_channels, out_channels, kernel_size, stride, padding, activate)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = _pair(kernel_size), _pair(stride), _pair(padding)
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
        checks.conv_input(self, X)  # float images (batch, in_channels, H, W), no smaller than the kernel
        if X.dim() == 4:
            X = X.to(memory_format=torch.channels_last)  # no copy when it already is (a previous ConvLayer's output)
        # (batch, out_channels, (H + 2p − kh) // s + 1, (W + 2p − kw) // s + 1)
        return self.activate(F.conv2d(X, self.W, self.B, stride=self.stride, padding=self.padding))

    @classmethod
    def from_torch(cls, conv: nn.Conv2d, activate=relu) -> "ConvLayer":
        """A ``ConvLayer`` holding a copy of ``conv``'s weight and bias."""
        checks.conv_twin(conv)  # groups, dilation, padding modes: not on the slide
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
