import copy

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


def test_evaluate_equals_accuracy_by_hand_and_leaves_mode_alone():
    torch.manual_seed(1)
    model = dlref.Model(dlref.Layer(5, 3, dlref.identity)).double()
    data = _data(48)
    X = torch.cat([X for X, _ in data])
    t = torch.cat([t for _, t in data])
    model.train()
    result = dlref.evaluate(model, data, dlref.cross_entropy)
    assert model.training
    with torch.no_grad():
        Y = model(X)
    assert result["accuracy"] == (Y.argmax(1) == t).double().mean().item()
    assert result["loss"] == pytest.approx(F.cross_entropy(Y, t).item(), rel=1e-12)


def test_train_rejects_zero_epochs_and_evaluate_empty_data():
    model = dlref.Model(dlref.Layer(5, 3))
    with pytest.raises(ValueError, match="epochs >= 1"):
        dlref.train(model, _data(), dlref.cross_entropy, dlref.SGD(model.parameters(), lr=0.1), epochs=0)
    with pytest.raises(ValueError, match="no examples"):
        dlref.evaluate(model, [], dlref.cross_entropy)


def test_train_does_not_touch_the_callers_model_copy():
    model = dlref.Model(dlref.Layer(5, 3)).double()
    saved = copy.deepcopy(model)
    dlref.train(model, _data(), dlref.cross_entropy, dlref.SGD(model.parameters(), lr=0.1))
    assert not torch.equal(saved[0].W, model[0].W)
