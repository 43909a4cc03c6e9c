"""evaluate and split (dlref/evaluation.py): the "Evaluation" slide's evaluate(model, data) and split(rawData, 0.8)."""

import pytest
import torch
import torch.nn.functional as F

import dlref


def _data(n=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 5, generator=g, dtype=torch.float64)
    t = (X[:, 0] + X[:, 1] > 0).long() + (X[:, 2] > 1).long()  # 3 classes
    return [(X[i:i + 16], t[i:i + 16]) for i in range(0, n, 16)]


def test_evaluate_equals_accuracy_by_hand_and_leaves_mode_alone():
    torch.manual_seed(1)
    model = dlref.Model(dlref.Layer(5, 3, dlref.identity)).double()
    data = _data()
    X = torch.cat([X for X, _ in data])
    t = torch.cat([t for _, t in data])
    model.train()
    result = dlref.evaluate(model, data, dlref.cross_entropy)
    assert model.training
    with torch.no_grad():
        Y = model(X)
    assert result["accuracy"] == (Y.argmax(1) == t).double().mean().item()
    assert result["loss"] == pytest.approx(F.cross_entropy(Y, t).item(), rel=1e-12)


def test_evaluate_model_data_uses_the_cross_entropy_that_matches_the_output():
    # The slide's evaluate(model, data): no loss given.
    torch.manual_seed(1)
    logits = dlref.Model(dlref.Layer(5, 3, dlref.identity)).double()
    assert dlref.evaluate(logits, _data()) == dlref.evaluate(logits, _data(), dlref.cross_entropy)
    probabilities = dlref.Model(dlref.Layer.from_torch(torch.nn.Linear(5, 3).double(), dlref.softmax))
    with torch.no_grad():
        probabilities[0].W.copy_(logits[0].W), probabilities[0].B.copy_(logits[0].B)
    by_default = dlref.evaluate(probabilities, _data())
    assert by_default == dlref.evaluate(probabilities, _data(), dlref.cross_entropy_error)
    assert by_default["accuracy"] == dlref.evaluate(logits, _data())["accuracy"]
    assert by_default["loss"] == pytest.approx(dlref.evaluate(logits, _data())["loss"], rel=1e-9)
    with pytest.raises(ValueError, match=r"^evaluate expected a model that returns logits for dlref.cross_entropy"):
        dlref.evaluate(probabilities, _data(), dlref.cross_entropy)


def test_evaluate_refuses_empty_data():
    with pytest.raises(ValueError, match="no examples"):
        dlref.evaluate(dlref.Model(dlref.Layer(5, 3)), [], dlref.cross_entropy)


# ---- split(rawData, 0.8)

LABELS = torch.repeat_interleave(torch.arange(10), torch.arange(50, 100, 5))  # 10 classes, 50..95 each: 725
LABELS = LABELS[torch.randperm(len(LABELS), generator=torch.Generator().manual_seed(1))]
X = torch.arange(len(LABELS) * 2, dtype=torch.float32).view(-1, 2)  # row i is (2i, 2i + 1): rows can be traced


def _rows(part: torch.Tensor) -> torch.Tensor:
    return (part[:, 0] / 2).long()


def test_split_keeps_the_fraction_for_training_and_returns_the_same_form():
    (X_train, t_train), (X_val, t_val) = dlref.split((X, LABELS), 0.8)
    assert len(X_train) == round(0.8 * 725) == 580 and len(X_val) == 145  # 80% training: the slide's meaning
    rows = torch.cat([_rows(X_train), _rows(X_val)])
    assert torch.equal(rows.sort().values, torch.arange(725))  # disjoint, covering
    assert torch.equal(t_train, LABELS[_rows(X_train)]) and torch.equal(t_val, LABELS[_rows(X_val)])  # pairs kept
    assert torch.equal(_rows(X_train), _rows(X_train).sort().values)  # each part in the original order
    train, validation = dlref.split(X, 0.8)  # a bare tensor
    assert isinstance(train, torch.Tensor) and train.shape == (580, 2) and validation.shape == (145, 2)
    # The slide's brackets, [X, t]: the pair, not a list of two examples; the parts come back as lists, the same.
    listed = dlref.split([X, LABELS], 0.8)
    assert isinstance(listed[0], list) and all(torch.equal(a, b) for a, b in zip(listed[0] + listed[1],
                                                                                   (X_train, t_train, X_val, t_val)))


def test_split_is_stratified_where_labels_exist_and_seeded():
    (_, t_train), (_, t_val) = dlref.split((X, LABELS), 0.8)
    counts = torch.bincount(LABELS)
    assert ((torch.bincount(t_train, minlength=10) - 0.8 * counts).abs() <= 1).all()  # each class: 80%, to ±1
    again = dlref.split((X, LABELS), 0.8)
    assert torch.equal(again[1][0], dlref.split((X, LABELS), 0.8)[1][0])
    torch.manual_seed(123)  # the global RNG plays no part
    assert torch.equal(again[1][1], dlref.split((X, LABELS), 0.8)[1][1]) and torch.equal(again[1][1], t_val)
    assert not torch.equal(dlref.split((X, LABELS), 0.8, seed=1)[1][1], t_val)
    unstratified = dlref.split((X, LABELS), 0.8, stratify=False)[0][1]
    assert ((torch.bincount(unstratified, minlength=10) - 0.8 * counts).abs() > 1).any()  # this seed drifts


def test_split_of_a_list_of_examples_keeps_them_and_stratifies_by_their_labels():
    rawData = [(f"image {i}", int(label)) for i, label in enumerate(LABELS)]
    train, validation = dlref.split(rawData, 0.8)
    assert isinstance(train, list) and len(train) == 580 and len(validation) == 145
    assert sorted(train + validation) == sorted(rawData)
    per_class = torch.bincount(torch.tensor([label for _, label in train]), minlength=10)
    assert ((per_class - 0.8 * torch.bincount(LABELS)).abs() <= 1).all()
    plain = dlref.split(list(range(10)), 0.8)
    assert plain[0] + plain[1] != list(range(10)) and sorted(plain[0] + plain[1]) == list(range(10))


@pytest.mark.parametrize("call, error, words", [
    (lambda: dlref.split((X, LABELS), 80), ValueError, r"found 80 of 725 examples; pass 0 < fraction < 1\."),
    (lambda: dlref.split(X, 1.0), ValueError, r"e\.g\. 0\.8 for 80% training, found 1\.0 of 725 examples"),
    (lambda: dlref.split(X[:2], 0.1), ValueError, r"leaves examples in both parts, .* found 0\.1 of 2 examples"),
    (lambda: dlref.split((X, LABELS[:-1]), 0.8), ValueError, r"found lengths \[725, 724\]; pass tensors of the same"),
    (lambda: dlref.split({"X": X}, 0.8), TypeError, r"expected a tensor, an \(X, t\) tuple of tensors or a list of "
                                                    r"examples, found dict; pass e\.g\. split\(\(X, t\), 0\.8\)\."),
])
def test_split_refuses_what_it_cannot_split_with_one_sentence(call, error, words):
    with pytest.raises(error, match=words):
        call()
