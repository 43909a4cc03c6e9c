import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

import dlref
from dlref.checks import output as check_output
from dlref.loss import loss_for


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


def test_cross_entropy_refuses_the_output_of_a_softmax():
    # The README's old trap: a Model ending in softmax trained with the loss on logits (83.6% vs 96.7%).
    x, t = _batch()
    words = (r"^cross_entropy expected logits \(it applies the softmax itself\), found the output of a softmax; "
             r"end the model with activate=dlref.identity, or use dlref.cross_entropy_error on probabilities\.$")
    for probabilities in (dlref.softmax(x.requires_grad_()), torch.nn.Softmax(dim=1)(x)):
        with pytest.raises(ValueError, match=words):
            dlref.cross_entropy(probabilities, t)
    assert torch.isfinite(dlref.cross_entropy(torch.log(dlref.softmax(x)), t))  # log-probabilities are logits
    # Without a graph (under no_grad, detached, typed in by hand) the values tell: rows of probabilities.
    with torch.no_grad():
        for probabilities in (dlref.softmax(x), torch.tensor([0.1, 0.8, 0.1])):
            with pytest.raises(ValueError, match=words):
                dlref.cross_entropy(probabilities, t if probabilities.dim() == 2 else torch.tensor(1))
    dlref.cross_entropy(dlref.softmax(x).detach(), t, check=False)  # a training loop's later batches: no read


def test_cross_entropy_error_refuses_values_that_are_not_probabilities():
    # The slide's formula on logits gives a negative "loss" (or nan): refused, naming the range found.
    with pytest.raises(ValueError, match=r"^cross_entropy_error expected probabilities in \[0, 1\] \(a softmax's "
                                         r"output\), found values from -1 to 2; pass dlref.softmax\(Y\)"):
        dlref.cross_entropy_error(torch.tensor([2.0, -1.0, 0.5]), torch.tensor(0))
    assert dlref.cross_entropy_error(torch.tensor([0.2, 0.8]), torch.tensor(1)) > 0


LOGITS_WORDS = (r"^train expected a model that returns logits for dlref.cross_entropy \(it applies the softmax "
                r"itself\), found a last layer with activate=softmax; build it with activate=dlref.identity, or pass "
                r"dlref.cross_entropy_error")
PROBABILITIES_WORDS = (r"^train expected a model that returns probabilities for dlref.cross_entropy_error .*, found a "
                       r"last layer that returns logits; pass dlref.cross_entropy, or end the model with "
                       r"activate=dlref.softmax")


@pytest.mark.parametrize("last, loss_fn, words", [
    (dlref.softmax, dlref.cross_entropy, LOGITS_WORDS),
    (dlref.identity, dlref.cross_entropy_error, PROBABILITIES_WORDS),
    (dlref.relu, dlref.cross_entropy_error, PROBABILITIES_WORDS.replace("logits", "relu")),  # Layer's default
    (dlref.sigmoid, dlref.cross_entropy_error, PROBABILITIES_WORDS.replace("logits", "sigmoid")),
])
def test_check_output_refuses_a_loss_that_does_not_match_the_last_layer(last, loss_fn, words):
    model = dlref.Model(dlref.Layer(5, 4), dlref.Layer(4, 3, last))
    with pytest.raises(ValueError, match=words):
        check_output(model, loss_fn, "train")
    other = dlref.cross_entropy_error if loss_fn is dlref.cross_entropy else dlref.cross_entropy
    check_output(model, other, "train")  # the matching loss passes
    check_output(model, dlref.mean_squared_error, "train")  # the slide's MSE fits either output
    assert loss_for(model) is other or last not in (dlref.softmax, dlref.identity)


@pytest.mark.parametrize("loss_fn, name", [(F.cross_entropy, "torch's F.cross_entropy"),
                                           (torch.nn.CrossEntropyLoss(), "torch's CrossEntropyLoss")])
def test_check_output_knows_torchs_cross_entropy_expects_logits_too(loss_fn, name):
    model = torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.Softmax(dim=1))
    with pytest.raises(ValueError, match=rf"^evaluate expected a model that returns logits for {name} \(it applies"):
        check_output(model, loss_fn, "evaluate")
