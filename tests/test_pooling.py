import pytest
import torch
from torch import nn

from dlref.pooling import Flatten, MaxPool, Rows


@pytest.mark.parametrize("kernel_size,stride", [(2, None), (3, 2), (2, 1)])
def test_max_pool_equals_nn_max_pool2d_outputs_and_gradients(kernel_size, stride):
    torch.manual_seed(0)
    X = torch.randn(2, 3, 9, 8, dtype=torch.float64)
    Xa, Xb = X.clone().requires_grad_(), X.clone().requires_grad_()
    Ya, Yb = MaxPool(kernel_size, stride)(Xa), nn.MaxPool2d(kernel_size, stride)(Xb)
    assert torch.equal(Ya, Yb)
    g = torch.randn_like(Ya)
    (Ya * g).sum().backward()
    (Yb * g).sum().backward()
    assert torch.equal(Xa.grad, Xb.grad)


def test_max_pool_keeps_each_windows_largest_value():
    X = torch.tensor([[[[1.0, 5.0, 2.0, 0.0],
                        [3.0, 4.0, 8.0, 1.0],
                        [0.0, 0.0, 1.0, 1.0],
                        [9.0, 0.0, 1.0, 7.0]]]])
    assert torch.equal(MaxPool(2)(X), torch.tensor([[[[5.0, 8.0], [9.0, 7.0]]]]))
    assert torch.equal(MaxPool(2)(X[0]), torch.tensor([[[5.0, 8.0], [9.0, 7.0]]]))  # one image (C, H, W)


def test_max_pool_refuses_flat_rows_and_small_images():
    with pytest.raises(ValueError, match=r"MaxPool expected images of shape \(batch, channels, height, width\).*"
                                         r"found \(2, 784\)"):
        MaxPool(2)(torch.randn(2, 784))
    with pytest.raises(ValueError, match=r"at least 3×3, found \(1, 4, 2, 2\).*fewer poolings"):
        MaxPool(3)(torch.randn(1, 4, 2, 2))
    with pytest.raises(ValueError, match="positive int kernel_size"):
        MaxPool(0)


def test_flatten_equals_nn_flatten():
    X = torch.randn(5, 3, 4, 2)
    assert torch.equal(Flatten()(X), nn.Flatten()(X))
    assert Flatten()(X).shape == (5, 24)
    assert torch.equal(Flatten()(X[:, 0, 0]), X[:, 0, 0])  # (batch, features) passes unchanged
    with pytest.raises(ValueError, match=r"Flatten expected a batch of shape \(batch, ...\), found \(7,\)"):
        Flatten()(torch.randn(7))


def test_rows_reads_an_image_top_to_bottom():
    images = torch.arange(2 * 28 * 28, dtype=torch.float32).view(2, 1, 28, 28)
    rows = Rows(28)(images)
    assert rows.shape == (2, 28, 28)  # (batch, time, features)
    for t in (0, 13, 27):
        assert torch.equal(rows[:, t], images[:, 0, t])  # step t is pixel row t
    assert torch.equal(Rows(28)(images.flatten(1)), rows)  # flat rows (batch, 784) too


def test_rows_refuses_sizes_that_are_not_whole_rows():
    with pytest.raises(ValueError, match=r"multiple of the width 28, found \(3, 100\)"):
        Rows(28)(torch.randn(3, 100))
    with pytest.raises(TypeError, match="floating-point"):
        Rows(28)(torch.zeros(3, 784, dtype=torch.uint8))
