import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlref.dropout import Dropout


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dropout_equals_nn_dropout_bit_for_bit_on_the_cpu(p, dtype):
    X = torch.randn(64, 33, dtype=dtype)
    torch.manual_seed(7)
    ours = Dropout(p)(X)
    torch.manual_seed(7)
    assert torch.equal(ours, nn.Dropout(p)(X))
    torch.manual_seed(7)
    assert torch.equal(ours, F.dropout(X, p, training=True))


def test_mask_statistics_and_gradient_are_m_over_1_minus_p():
    torch.manual_seed(0)
    p = 0.3
    X = torch.ones(200_000, dtype=torch.float64, requires_grad=True)
    Y = Dropout(p)(X)
    kept = Y != 0
    assert abs(kept.double().mean().item() - (1 - p)) < 0.005  # m ~ Bernoulli(1 − p)
    assert torch.equal(Y[kept], torch.full_like(Y[kept], 1 / (1 - p)))  # kept units scaled by 1/(1 − p)
    assert abs(Y.mean().item() - 1.0) < 0.01  # the expectation is unchanged
    Y.sum().backward()
    assert torch.equal(X.grad, Y.detach())  # ∂Y/∂X = m / (1 − p), and X is all ones


def test_evaluation_mode_and_p_zero_are_the_identity_and_p_one_drops_all():
    X = torch.randn(10, 5)
    layer = Dropout(0.5).eval()
    assert layer(X) is X
    assert Dropout(0.0)(X) is X
    assert torch.equal(Dropout(1.0)(X), torch.zeros_like(X))
    layer.train()
    assert not torch.equal(layer(X), X)


@pytest.mark.parametrize("p", [1.5, -0.5, float("nan"), "0.5", True])
def test_bad_probability_is_refused(p):
    with pytest.raises(ValueError, match=rf"^Dropout expected a probability 0 <= p <= 1, found p={re.escape(repr(p))}; "
                                         r"pass e\.g\. Dropout\(0\.5\)\.$"):
        Dropout(p)


def test_bad_input_dtype_is_refused():
    with pytest.raises(TypeError, match="floating-point"):
        Dropout(0.5)(torch.ones(3, dtype=torch.long))
