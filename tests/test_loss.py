import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

import dlref


def _batch(seed=0, n=8, k=5):
    torch.manual_seed(seed)
    x = torch.randn(n, k, dtype=torch.float64) * 2
    t = torch.randint(0, k, (n,))
    return x, t


def test_cross_entropy_error_is_the_slides_formula_against_nll_loss():
    x, t = _batch()
    y = torch.softmax(x, dim=1)
    ya, yb = y.clone().requires_grad_(), y.clone().requires_grad_()
    ea, eb = dlref.cross_entropy_error(ya, t), F.nll_loss(torch.log(yb), t)
    assert_close(ea, eb)
    ea.backward()
    eb.backward()
    assert_close(ya.grad, yb.grad)


def test_cross_entropy_error_one_hot_equals_class_indices():
    x, t = _batch()
    y = torch.softmax(x, dim=1)
    assert_close(dlref.cross_entropy_error(y, F.one_hot(t, 5).double()), dlref.cross_entropy_error(y, t))


def test_cross_entropy_error_hand_computed_single_example():
    # t = (0, 1, 0), y = (0.1, 0.8, 0.1): E = -log 0.8
    y, t = torch.tensor([0.1, 0.8, 0.1]), torch.tensor([0.0, 1.0, 0.0])
    assert_close(dlref.cross_entropy_error(y, t), -torch.log(torch.tensor(0.8)))


@pytest.mark.parametrize("one_hot", [False, True])
def test_stable_cross_entropy_equals_f_cross_entropy(one_hot):
    x, t = _batch(1)
    target = F.one_hot(t, 5).double() if one_hot else t
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ea, eb = dlref.cross_entropy(xa, target), F.cross_entropy(xb, target)
    assert_close(ea, eb)
    ea.backward()
    eb.backward()
    assert_close(xa.grad, xb.grad)


def test_literal_and_stable_forms_agree_where_both_are_finite():
    for seed in range(5):
        x, t = _batch(seed, n=32, k=10)
        x = x * 5
        assert_close(dlref.cross_entropy_error(dlref.softmax(x), t), dlref.cross_entropy(x, t))


def test_stable_form_is_finite_where_the_literal_one_is_not():
    x = torch.tensor([[200.0, 0.0, -200.0]])  # softmax underflows to exactly 0 for class 2
    t = torch.tensor([2])
    assert torch.isinf(dlref.cross_entropy_error(dlref.softmax(x), t))
    assert_close(dlref.cross_entropy(x, t), torch.tensor(400.0))


def test_mean_squared_error_is_half_sum_over_classes_mean_over_batch():
    x, t = _batch(2)
    y, target = torch.sigmoid(x), F.one_hot(t, 5).double()
    ya, yb = y.clone().requires_grad_(), y.clone().requires_grad_()
    ea = dlref.mean_squared_error(ya, target)
    eb = 0.5 * F.mse_loss(yb, target, reduction="sum") / len(y)
    assert_close(ea, eb)
    ea.backward()
    eb.backward()
    assert_close(ya.grad, yb.grad)
    assert_close(dlref.mean_squared_error(y, t), ea)  # class indices become one-hot
    # hand-computed: ½((0.5−0)² + (0.5−1)²) = 0.25
    assert_close(dlref.mean_squared_error(torch.tensor([0.5, 0.5]), torch.tensor([0.0, 1.0])), torch.tensor(0.25))


@pytest.mark.parametrize("loss", [dlref.cross_entropy, dlref.cross_entropy_error, dlref.mean_squared_error])
def test_batch_size_mismatch_says_what_to_do(loss):
    with pytest.raises(ValueError, match=r"expected class indices of shape \(4,\).*found \(3,\).*one label per row"):
        loss(torch.rand(4, 10), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"one-hot targets shaped like y \(4, 10\), found \(4, 9\)"):
        loss(torch.rand(4, 10), torch.rand(4, 9))


def test_label_out_of_range_is_named():
    with pytest.raises(ValueError, match=r"class indices in 0..9, found values from 0 to 10"):
        dlref.cross_entropy(torch.rand(2, 10), torch.tensor([0, 10]))
