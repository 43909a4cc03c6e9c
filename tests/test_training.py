import copy
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

import dlref


def _data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 5, generator=g, dtype=torch.float64)
    t = (X[:, 0] + X[:, 1] > 0).long() + (X[:, 2] > 1).long()  # 3 classes, learnable
    return [(X[i:i + 16], t[i:i + 16]) for i in range(0, n, 16)]


def test_train_equals_a_plain_torch_loop():
    torch.manual_seed(0)
    seq = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3)).double()
    model = dlref.Model(dlref.Layer.from_torch(seq[0]), dlref.Layer.from_torch(seq[2], activate=dlref.identity))
    data = _data()
    dlref.train(model, data, dlref.cross_entropy, dlref.SGD(model.parameters(), lr=0.1, momentum=0.9), epochs=3)
    opt = torch.optim.SGD(seq.parameters(), lr=0.1, momentum=0.9, foreach=False)
    for _ in range(3):
        for X, t in data:
            opt.zero_grad()
            F.cross_entropy(seq(X), t).backward()
            opt.step()
    assert_close(model[0].W, seq[0].weight)
    assert_close(model[1].B, seq[2].bias)


def test_train_lowers_the_loss_and_evaluate_reports_accuracy():
    torch.manual_seed(0)
    model = dlref.Model(dlref.Layer(5, 16), dlref.Layer(16, 3, dlref.identity)).double()
    data = _data(256)
    before = dlref.evaluate(model, data, dlref.cross_entropy)
    history = dlref.train(model, data, dlref.cross_entropy, dlref.SGD(model.parameters(), lr=0.2), epochs=20)
    after = dlref.evaluate(model, data, dlref.cross_entropy)
    assert len(history) == 20 and history[-1] < 0.6 * history[0]
    assert after["loss"] < before["loss"] and after["accuracy"] > 0.85


def test_train_rejects_zero_epochs():
    model = dlref.Model(dlref.Layer(5, 3))
    with pytest.raises(ValueError, match="epochs >= 1"):
        dlref.train(model, _data(), dlref.cross_entropy, dlref.SGD(model.parameters(), lr=0.1), epochs=0)


def test_train_does_not_touch_the_callers_model_copy():
    model = dlref.Model(dlref.Layer(5, 3)).double()
    saved = copy.deepcopy(model)
    dlref.train(model, _data(), dlref.cross_entropy, dlref.SGD(model.parameters(), lr=0.1))
    assert not torch.equal(saved[0].W, model[0].W)


class _Spy(dlref.Model):
    """A Model that records the slide's calls made on it."""

    calls: list

    def predict(self, X):
        self.calls.append("predict")
        return super().predict(X)


class _SpySGD(dlref.SGD):
    def update(self, W, loss):
        self.seen.append((W, loss.dim()))
        return super().update(W, loss)


def test_train_is_the_slides_loop_predict_loss_update():
    torch.manual_seed(0)
    model = _Spy(dlref.Layer(5, 3, dlref.identity)).double()
    model.calls = []
    optimizer = _SpySGD(model.parameters(), lr=0.1)
    optimizer.seen = []
    dlref.train(model, _data(), dlref.cross_entropy, optimizer, epochs=2)
    assert model.calls == ["predict"] * 8  # 4 batches, 2 epochs
    assert [(W, dim) for W, dim in optimizer.seen] == [(model.W, 0)] * 8  # update(model.W, loss), loss 0-dim


def test_a_torch_model_and_optimizer_train_as_in_a_plain_torch_loop():
    torch.manual_seed(0)
    seq = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3)).double()
    twin = copy.deepcopy(seq)
    data = _data()
    dlref.train(seq, data, F.cross_entropy, torch.optim.SGD(seq.parameters(), lr=0.1, momentum=0.9), epochs=2)
    opt = torch.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9)
    for _ in range(2):
        for X, t in data:
            opt.zero_grad()
            F.cross_entropy(twin(X), t).backward()
            opt.step()
    assert all(torch.equal(a, b) for a, b in zip(seq.parameters(), twin.parameters()))


def test_a_one_shot_iterator_trains_one_epoch_and_is_refused_for_more():
    torch.manual_seed(0)
    model = dlref.Model(dlref.Layer(5, 3, dlref.identity)).double()
    twin = copy.deepcopy(model)
    dlref.train(model, (batch for batch in _data()), dlref.cross_entropy, dlref.SGD(model.parameters(), lr=0.1))
    dlref.train(twin, _data(), dlref.cross_entropy, dlref.SGD(twin.parameters(), lr=0.1))
    assert torch.equal(model[0].W, twin[0].W)  # one epoch from a generator is one epoch from a list
    before = model[0].W.detach().clone()
    words = (r"^train expected data it can read once per epoch for epochs=3, found a one-shot generator that is empty "
             r"after its first pass; pass a list \(list\(data\)\), a Batches or a DataLoader, or epochs=1\.$")
    with pytest.raises(ValueError, match=words):
        dlref.train(model, (b for b in _data()), dlref.cross_entropy, dlref.SGD(model.parameters(), lr=0.1), epochs=3)
    assert torch.equal(model[0].W, before)  # refused before any step


class _Once:
    """An iterable that is not an iterator but yields its batches only the first time (e.g. a stream)."""

    def __init__(self, batches):
        self.batches = iter(batches)

    def __iter__(self):
        return self.batches


def test_empty_data_and_an_epoch_without_batches_stop_with_one_sentence():
    model = dlref.Model(dlref.Layer(5, 3, dlref.identity)).double()
    opt = dlref.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"^train found no batches in data in epoch 1; pass a non-empty list"):
        dlref.train(model, [], dlref.cross_entropy, opt)
    with pytest.raises(ValueError, match=r"^train found no batches in data in epoch 2; .* that can be read once per "
                                         r"epoch\.$"):
        dlref.train(model, _Once(_data()), dlref.cross_entropy, opt, epochs=2)


def test_a_softmax_model_with_the_logits_loss_is_refused_before_any_step():
    torch.manual_seed(0)
    model = dlref.Model(dlref.Layer(5, 8), dlref.Layer(8, 3, dlref.softmax)).double()
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ValueError, match=r"^train expected a model that returns logits for dlref.cross_entropy"):
        dlref.train(model, _data(), dlref.cross_entropy, dlref.SGD(model.parameters(), lr=0.1))
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    # With the slide's formula on probabilities it trains.
    opt = dlref.SGD(model.parameters(), lr=0.5)
    history = dlref.train(model, _data(256), dlref.cross_entropy_error, opt, epochs=10)
    assert history[-1] < 0.7 * history[0]


def test_a_per_epoch_scheduler_sees_the_optimizer_step():
    model = dlref.Model(dlref.Layer(5, 3, dlref.identity)).double()
    opt = dlref.SGD(model.parameters(), lr=0.1)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns when lr_scheduler.step() comes before optimizer.step()
        dlref.train(model, _data(), dlref.cross_entropy, opt, epochs=2, on_epoch_end=lambda e, loss: schedule.step())
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0)


def test_train_stops_a_diverging_run_and_puts_the_last_good_weights_back():
    torch.manual_seed(0)
    X, t = torch.randn(200, 784), torch.randint(0, 10, (200,))
    data = list(zip(X.split(50), t.split(50)))
    model = dlref.networks.fcn(hidden=32)
    before = [W.detach().clone() for W in model.parameters()]
    seen = []
    with pytest.raises(dlref.DivergenceError, match=r"non-finite one at step 2; the weights were put back to the "
                                                    r"initial ones.*learning rate 1e\+30.*lr=0.1\)"):
        dlref.train(model, data, dlref.cross_entropy, dlref.SGD(model.parameters(), lr=1e30), epochs=3,
                    on_epoch_end=lambda epoch, loss: seen.append(epoch))
    assert seen == []  # never handed non-finite weights to evaluate
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))  # the weights after step 0: the start


def test_a_loss_not_finite_before_any_update_is_not_blamed_on_the_learning_rate():
    # NaN in the data: the initial weights' loss is already not finite, so "lower the rate" would mislead.
    X, t = torch.randn(8, 5), torch.randint(0, 3, (8,))
    X[0, 0] = float("nan")
    model = dlref.Model(dlref.Layer(5, 4), dlref.Layer(4, 3, dlref.identity))
    with pytest.raises(dlref.DivergenceError, match=r"at step 1; .*the loss of the initial weights was not finite, so "
                                                    r"the learning rate is not the cause: check the model.s last"):
        dlref.train(model, [(X, t)], dlref.cross_entropy, dlref.SGD(model.parameters(), lr=1e-6))


@pytest.mark.parametrize("call, error, words", [
    (lambda m, X, t: dlref.train(m, (X, t), dlref.cross_entropy, dlref.SGD(0.1)), TypeError,
     r"^train expected data as batches of \(X, target\) pairs, found one \(X, target\) pair of tensors; pass "
     r"\[\(X, target\)\] for one batch"),
    (lambda m, X, t: dlref.evaluate(m, (X, t)), TypeError, r"^evaluate expected data as batches of \(X, target\)"),
    (lambda m, X, t: dlref.train(m, [(X.numpy(), t.numpy())], dlref.cross_entropy, dlref.SGD(0.1)), TypeError,
     r"^train expected each batch to be an \(X, target\) pair of tensors, found a tuple of ndarray, ndarray"),
    (lambda m, X, t: dlref.evaluate(m, [{"X": X, "t": t}]), TypeError, r"each batch to be an .* found a dict"),
    (lambda m, X, t: dlref.train(m, [(X, t)], dlref.SGD(0.1), dlref.cross_entropy), TypeError,
     r"^train expected train\(model, data, loss_fn, optimizer\), found loss_fn a SGD and optimizer a function"),
    (lambda m, X, t: m.predict(X.double()), TypeError,
     r"^Layer expected input of its weights' dtype torch.float32, found torch.float64 .*X.to\(torch.float32\)"),
], ids=["pair-train", "pair-evaluate", "numpy", "dict", "swapped", "float64"])
def test_data_in_the_wrong_form_is_one_sentence(call, error, words):
    model = dlref.Model(dlref.Layer(5, 4), dlref.Layer(4, 3, dlref.identity))
    with pytest.raises(error, match=words):
        call(model, torch.randn(8, 5), torch.randint(0, 3, (8,)))


def test_evaluate_refuses_to_count_accuracy_over_one_output_column():
    # argmax over one column is always 0: every 0 label would count as right.
    model = dlref.Model(dlref.Layer(5, 1, dlref.sigmoid))
    X, t = torch.randn(8, 5), torch.zeros(8, 1)
    with pytest.raises(ValueError, match=r"^evaluate expected one score per class, \(batch, classes >= 2\), to count "
                                         r"the accuracy, found outputs of shape \(8, 1\)"):
        dlref.evaluate(model, [(X, t)], dlref.mean_squared_error)
