"""Validation schemes: folds that partition the data, stratified, reproducible; errors a learner can act on."""

import math

import pytest
import torch

import dlref
from dlref.data.split import iterated_kfold, kfold, train_share, validation_split

# 10 classes of unequal size (50..95 examples), in a scrambled order
LABELS = torch.repeat_interleave(torch.arange(10), torch.arange(50, 100, 5))
LABELS = LABELS[torch.randperm(len(LABELS), generator=torch.Generator().manual_seed(1))]


def _assert_split(train, val, n):
    assert torch.equal(torch.cat([train, val]).sort().values, torch.arange(n))  # disjoint; the rest is training
    assert train.dtype == val.dtype == torch.int64
    assert torch.equal(train, train.sort().values) and torch.equal(val, val.sort().values)


def _assert_partition(pairs, n):
    vals = torch.cat([val for _, val in pairs])
    assert torch.equal(vals.sort().values, torch.arange(n))  # disjoint and covering: every index exactly once
    for train, val in pairs:
        _assert_split(train, val, n)


def _class_share(idx):
    return torch.bincount(LABELS[idx], minlength=10).float() / len(idx)


@pytest.mark.parametrize("stratify", [True, False])
def test_kfold_validation_folds_are_disjoint_and_cover_the_data(stratify):
    pairs = kfold(LABELS, 5, seed=0, stratify=stratify)
    assert len(pairs) == 5
    _assert_partition(pairs, len(LABELS))
    assert {len(val) for _, val in pairs} == {145}


def test_stratified_folds_keep_each_class_share():
    counts = torch.bincount(LABELS)
    for _, val in kfold(LABELS, 5, seed=0):
        per_class = torch.bincount(LABELS[val], minlength=10)
        assert ((per_class - counts / 5).abs() <= 1).all(), per_class  # each class split 5 ways, to ±1
    # without stratification the shares drift (this seed: by more than 1.5 percentage points somewhere)
    drift = max((_class_share(val) - _class_share(torch.arange(len(LABELS)))).abs().max().item()
                for _, val in kfold(LABELS, 5, seed=0, stratify=False))
    assert drift > 0.015


def test_same_seed_same_folds_other_seed_other_folds():
    a, b, c = kfold(LABELS, 4, seed=7), kfold(LABELS, 4, seed=7), kfold(LABELS, 4, seed=8)
    assert all(torch.equal(x[1], y[1]) for x, y in zip(a, b))
    assert not all(torch.equal(x[1], z[1]) for x, z in zip(a, c))
    torch.manual_seed(123)  # the global RNG plays no part
    assert all(torch.equal(x[1], y[1]) for x, y in zip(a, kfold(LABELS, 4, seed=7)))


def test_unshuffled_kfold_cuts_the_data_in_order():
    pairs = kfold(torch.arange(20) % 2, 4, stratify=False, shuffle=False)
    assert [val.tolist() for _, val in pairs] == [list(range(k, k + 5)) for k in range(0, 20, 5)]


def test_iterated_kfold_is_k_fold_repeated_on_new_shuffles():
    pairs = iterated_kfold(LABELS, folds=5, repeats=3, seed=0)
    assert len(pairs) == 15
    for r in range(3):
        _assert_partition(pairs[5 * r : 5 * r + 5], len(LABELS))
    assert not torch.equal(pairs[0][1], pairs[5][1]) and not torch.equal(pairs[5][1], pairs[10][1])
    again = iterated_kfold(LABELS, folds=5, repeats=3, seed=0)
    assert all(torch.equal(x[1], y[1]) for x, y in zip(pairs, again))
    counts = torch.bincount(LABELS)
    assert all(((torch.bincount(LABELS[val], minlength=10) - counts / 5).abs() <= 1).all() for _, val in pairs)
    _assert_partition(iterated_kfold(LABELS, 3, 2, seed=1, stratify=False)[3:], len(LABELS))


def test_the_hold_out_is_the_slides_split_of_the_indices():
    train, val = validation_split(LABELS, 0.2, seed=0)
    _assert_split(train, val, len(LABELS))
    assert len(val) == 145 and torch.equal(validation_split(LABELS, 0.2, seed=0)[1], val)  # 20% of 725
    (slide_train, _), (slide_val, _) = dlref.split((torch.arange(len(LABELS)), LABELS), 0.8, seed=0)
    assert torch.equal(train, slide_train) and torch.equal(val, slide_val)  # one split, one convention
    counts = torch.bincount(LABELS)
    assert ((torch.bincount(LABELS[val], minlength=10) - counts * 0.2).abs() <= 1).all()  # stratified, to ±1
    torch.manual_seed(123)  # the global RNG plays no part; another seed gives another split
    assert torch.equal(validation_split(LABELS, 0.2, seed=0)[1], val)
    assert not torch.equal(validation_split(LABELS, 0.2, seed=1)[1], val)
    assert _class_share(validation_split(LABELS, 0.2, seed=0, stratify=False)[1]).ne(_class_share(val)).any()


def test_the_hold_out_is_disjoint_complete_stratified_and_seeded():
    t = torch.arange(1000) % 10
    train, val = validation_split(t, 100, seed=0)
    assert len(val) == 100 and len(train) == 900
    assert sorted(torch.cat([train, val]).tolist()) == list(range(1000))
    assert torch.bincount(t[val]).tolist() == [10] * 10
    assert torch.equal(validation_split(t, 100, seed=0)[1], val)
    assert not torch.equal(validation_split(t, 100, seed=1)[1], val)
    with pytest.raises(ValueError, match="val_size"):
        validation_split(t, 1000)


@pytest.mark.parametrize("n", [10, 97, 725, 1000, 4999, 5000, 60000])
def test_the_hold_out_has_exactly_the_size_asked_for(n):
    # --data.val_size: a count, or a share counted as scikit-learn counts it (ceil); the default 1/12 of 60,000 is 5,000
    t = torch.arange(n) % 3
    for val_size in (3, n // 2, n - 3, 1 / 12, 0.1, 0.2, 0.5, 0.9):
        count = val_size if isinstance(val_size, int) else math.ceil(val_size * n)
        if 3 <= count <= n - 3:
            train, val = validation_split(t, val_size, seed=0)
            assert (len(train), len(val)) == (n - count, count), (n, val_size)
            assert round(train_share(t, val_size) * n) == n - count
    assert len(validation_split(torch.arange(60000) % 10, 1 / 12)[1]) == 5000


@pytest.mark.parametrize("call, words", [
    (lambda: kfold(LABELS[:4], 5, stratify=False), "folds=5 for 4 examples"),
    (lambda: kfold(LABELS, 1), "folds >= 2"),
    (lambda: kfold(torch.arange(30) % 10, 5), "at least folds=5 examples to stratify"),
    (lambda: iterated_kfold(LABELS, 5, repeats=0), "repeats >= 1"),
    (lambda: validation_split(LABELS, 0), "found val_size=0"),  # dlref.split's words about a training share otherwise
    (lambda: validation_split(LABELS, 1.5), "found val_size=1.5"),
    (lambda: validation_split(LABELS[:10], 5), "room for every one of the"),  # a class on one side only otherwise
])
def test_impossible_folds_are_one_sentence_saying_what_to_do(call, words):
    with pytest.raises(ValueError, match="expected .*, found .*; pass") as error:
        call()
    message = str(error.value)
    assert words in message and message.endswith(".") and ". " not in message.replace("e.g. ", "")
