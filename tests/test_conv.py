import pytest
import torch
from torch import nn
from torch.testing import assert_close

import dlref
from dlref.conv import ConvLayer

SETTINGS = [  # kernel_size, stride, padding
    (3, 1, 1),
    (5, 2, 0),
    ((3, 5), (2, 1), (1, 2)),
]


@pytest.mark.parametrize("kernel_size,stride,padding", SETTINGS)
@pytest.mark.parametrize("activate,twin", [(dlref.relu, torch.relu), (dlref.identity, lambda x: x)])
def test_conv_layer_equals_nn_conv2d_outputs_and_gradients(kernel_size, stride, padding, activate, twin):
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, kernel_size, stride=stride, padding=padding).double()
    layer = ConvLayer.from_torch(conv, activate=activate)
    assert layer.W.dtype == torch.float64
    X = torch.randn(2, 3, 11, 9, dtype=torch.float64)
    Xa, Xb = X.clone().requires_grad_(), X.clone().requires_grad_()
    Ya, Yb = layer(Xa), twin(conv(Xb))
    assert_close(Ya, Yb)
    g = torch.randn_like(Ya)
    (Ya * g).sum().backward()
    (Yb * g).sum().backward()
    assert_close(Xa.grad, Xb.grad)
    assert_close(layer.W.grad, conv.weight.grad)
    assert_close(layer.B.grad, conv.bias.grad)


def test_one_image_gives_the_batched_result_without_its_batch_axis():
    torch.manual_seed(0)
    layer = ConvLayer(2, 5, 3, padding=1)
    X = torch.randn(4, 2, 8, 8)
    assert layer(X[1]).shape == (5, 8, 8)
    assert_close(layer(X[1]), layer(X)[1])


def test_slide_convolution_is_cross_correlation_with_the_kernel_flipped():
    # (f*g)(t) = Σ_τ f(τ) g(t − τ), the slide's integral as a sum, on a 1-D signal ("full" length).
    f = torch.tensor([1.0, 2.0, 0.0, -1.0, 3.0], dtype=torch.float64)
    g = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    full = torch.tensor([sum(f[tau] * g[t - tau] for tau in range(len(f)) if 0 <= t - tau < len(g))
                         for t in range(len(f) + len(g) - 1)], dtype=torch.float64)
    layer = ConvLayer(1, 1, (1, 3), padding=(0, 2), activate=dlref.identity).double()
    with torch.no_grad():
        layer.W.copy_(g.flip(0).view(1, 1, 1, 3))  # the framework slides W unflipped
        layer.B.zero_()
    assert_close(layer(f.view(1, 1, 1, -1)).flatten(), full)


def test_hand_computed_cross_correlation():
    layer = ConvLayer(1, 1, 2, activate=dlref.identity)
    with torch.no_grad():
        layer.W.copy_(torch.tensor([[[[1.0, 0.0], [0.0, -1.0]]]]))
        layer.B.fill_(10.0)
    X = torch.arange(1.0, 10.0).view(1, 1, 3, 3)  # [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    # each window's top-left minus its bottom-right: 1 − 5, 2 − 6, 4 − 8, 5 − 9, plus B
    assert torch.equal(layer(X), torch.full((1, 1, 2, 2), 6.0))


def test_shapes_parameters_and_initialisation_follow_nn_conv2d():
    torch.manual_seed(0)
    layer = ConvLayer(16, 32, 3)
    assert layer.W.shape == (32, 16, 3, 3) and layer.B.shape == (32,)
    assert [name for name, _ in layer.named_parameters()] == ["W", "B"]
    bound = 1 / (16 * 3 * 3) ** 0.5  # nn.Conv2d: kaiming_uniform_(a=√5) → U(±1/√fan_in)
    assert layer.W.abs().max() <= bound and layer.B.abs().max() <= bound
    assert abs(layer.W.std().item() - bound / 3**0.5) < 0.05 * bound
    twin = nn.Conv2d(16, 32, 3)
    assert abs(twin.weight.std().item() - layer.W.std().item()) < 0.05 * bound


def test_gradcheck_in_float64():
    torch.manual_seed(0)
    layer = ConvLayer(2, 3, 3, stride=2, padding=1, activate=dlref.tanh).double()
    X = torch.randn(2, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda X, W, B: dlref.tanh(torch.nn.functional.conv2d(X, W, B, 2, 1)),
                                    (X, layer.W, layer.B))
    assert torch.autograd.gradcheck(layer, (X,))


def test_from_torch_copies_and_handles_a_missing_bias():
    conv = nn.Conv2d(1, 2, 3, bias=False)
    layer = ConvLayer.from_torch(conv)
    assert torch.equal(layer.B, torch.zeros(2))
    with torch.no_grad():
        conv.weight.add_(1.0)
    assert not torch.equal(layer.W, conv.weight)


@pytest.mark.parametrize("conv,match", [
    (nn.Conv2d(4, 4, 3, groups=2), r"groups=1.*found groups=2"),
    (nn.Conv2d(1, 2, 3, dilation=2), r"found dilation=\(2, 2\)"),
    (nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect"), r"found padding_mode='reflect'"),
    (nn.Conv2d(1, 2, 3, padding="same"), r"found padding='same'"),
])
def test_from_torch_refuses_what_the_slide_does_not_have(conv, match):
    with pytest.raises(ValueError, match=match):
        ConvLayer.from_torch(conv)


def test_wrong_channel_count_says_what_to_do():
    with pytest.raises(ValueError, match=r"expected 1 input channels, found 3 in \(2, 3, 28, 28\).*in_channels=3"):
        ConvLayer(1, 8, 3)(torch.randn(2, 3, 28, 28))


def test_flat_rows_are_refused_with_a_reshape_hint():
    with pytest.raises(ValueError, match=r"expected images of shape \(batch, 1, height, width\).*found \(2, 784\).*"
                                         r"X.view\(-1, 1, height, width\)"):
        ConvLayer(1, 8, 3)(torch.randn(2, 784))


def test_integer_images_are_refused_with_advice():
    with pytest.raises(TypeError, match=r"floating-point.*torch.uint8.*X.float\(\)"):
        ConvLayer(1, 8, 3)(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))


def test_image_smaller_than_the_kernel_is_refused():
    with pytest.raises(ValueError, match=r"at least as large as the kernel \(5, 5\).*found \(3, 3\)"):
        ConvLayer(1, 8, 5)(torch.randn(2, 1, 3, 3))


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="positive channels"):
        ConvLayer(0, 8, 3)
    with pytest.raises(ValueError, match=r"kernel_size as an int or a pair of ints, found \(3, 3, 3\)"):
        ConvLayer(1, 8, (3, 3, 3))
