import pytest
import torch

from dlref.data.batches import Batches
from dlref.data.split import holdout


def test_whole_batches_cover_every_example_once_per_epoch():
    X, t = torch.arange(10.0).unsqueeze(1), torch.arange(10)
    batches = Batches(X, t, 4, shuffle=True, seed=3)
    assert len(batches) == 3
    seen = torch.cat([tb for _, tb in batches])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    assert [len(tb) for _, tb in batches] == [4, 4, 2]


def test_order_depends_on_the_seed_only_and_changes_per_epoch():
    X, t = torch.zeros(100, 1), torch.arange(100)
    a, b = Batches(X, t, 10, shuffle=True, seed=1), Batches(X, t, 10, shuffle=True, seed=1)
    torch.manual_seed(123)
    first_a = [tb for _, tb in a]
    torch.manual_seed(456)  # the global RNG does not matter
    first_b = [tb for _, tb in b]
    assert all(torch.equal(x, y) for x, y in zip(first_a, first_b))
    second_a = [tb for _, tb in a]
    assert not all(torch.equal(x, y) for x, y in zip(first_a, second_a))


def test_unshuffled_batches_are_in_order():
    t = torch.arange(7)
    assert torch.equal(torch.cat([tb for _, tb in Batches(t.float(), t, 3)]), t)


def test_state_dict_resumes_mid_epoch_exactly():
    X, t = torch.zeros(50, 1), torch.arange(50)
    straight = Batches(X, t, 8, shuffle=True, seed=7)
    expected = [tb for _ in range(2) for _, tb in straight]
    resumed = Batches(X, t, 8, shuffle=True, seed=7)
    first = list(resumed)  # epoch 1
    it = iter(resumed)
    part = [next(it)[1] for _ in range(3)]  # 3 batches into epoch 2, then "crash"
    state = resumed.state_dict()
    assert state["next_batch"] == 3
    fresh = Batches(X, t, 8, shuffle=True, seed=99)
    fresh.load_state_dict(state)
    rest = [tb for _, tb in fresh]
    got = [tb for _, tb in first] + part + rest
    assert len(got) == len(expected) and all(torch.equal(a, b) for a, b in zip(got, expected))


def test_mismatched_lengths_and_zero_batch_size_are_refused():
    with pytest.raises(ValueError, match="as many targets as inputs"):
        Batches(torch.zeros(3, 1), torch.zeros(4), 2)
    with pytest.raises(ValueError, match="batch_size >= 1"):
        Batches(torch.zeros(3, 1), torch.zeros(3), 0)


def test_holdout_is_disjoint_complete_stratified_and_seeded():
    t = torch.arange(1000) % 10
    train, val = holdout(t, 100, seed=0)
    assert len(val) == 100 and len(train) == 900
    assert sorted(torch.cat([train, val]).tolist()) == list(range(1000))
    assert torch.bincount(t[val]).tolist() == [10] * 10
    assert torch.equal(holdout(t, 100, seed=0)[1], val) and not torch.equal(holdout(t, 100, seed=1)[1], val)
    with pytest.raises(ValueError, match="val_size"):
        holdout(t, 1000)


def test_an_abandoned_iteration_does_not_shorten_the_next_one():
    # Lightning's sanity check reads two validation batches and walks away.
    batches = Batches(torch.zeros(10, 1), torch.arange(10), 3)
    it = iter(batches)
    next(it)
    assert len(list(batches)) == 4


def test_ranks_share_training_equally_and_evaluation_exactly_once():
    X, t = torch.zeros(103, 1), torch.arange(103)
    train = [torch.cat([tb for _, tb in Batches(X, t, 10, shuffle=True, seed=5, rank=r, world_size=2)])
             for r in range(2)]
    assert len(train[0]) == len(train[1]) == 51 and not set(train[0].tolist()) & set(train[1].tolist())
    evaluation = [torch.cat([tb for _, tb in Batches(X, t, 10, rank=r, world_size=2)]) for r in range(2)]
    assert sorted(torch.cat(evaluation).tolist()) == list(range(103))
