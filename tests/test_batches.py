import pytest
import torch

from dlref.data.batches import Batches


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


def test_shift_moves_each_image_by_its_offset_and_fills_with_background():
    from dlref.data.augment import shift

    X = torch.arange(2 * 1 * 5 * 5, dtype=torch.float32).view(2, 1, 5, 5)
    offsets = torch.tensor([[1, 0], [-2, 1]])  # image 0 one row down; image 1 two rows up, one column right
    out = shift(X, offsets, max_shift=2, fill=-1.0)
    expected0 = torch.full((1, 5, 5), -1.0)
    expected0[:, 1:, :] = X[0, :, :4, :]
    expected1 = torch.full((1, 5, 5), -1.0)
    expected1[:, :3, 1:] = X[1, :, 2:, :4]
    assert torch.equal(out[0], expected0) and torch.equal(out[1], expected1)
    assert torch.equal(shift(X, torch.zeros(2, 2, dtype=torch.long), max_shift=2), X)


def test_shifted_batches_differ_per_epoch_keep_labels_and_resume_exactly():
    X = torch.rand(50, 1, 6, 6) + 1  # background (the minimum) is above 1, never 0
    t = torch.arange(50)
    batches = Batches(X, t, 8, shuffle=True, seed=3, shift=1)
    first, second = list(batches), list(batches)
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(first, second))
    plain = dict(zip(t.tolist(), X))
    for images, labels in first:  # each image is its own, moved by at most one pixel: its centre 4×4 is found
        for image, label in zip(images, labels.tolist()):
            assert any(torch.equal(image[:, 1 + dy : 5 + dy, 1 + dx : 5 + dx], plain[label][:, 1:5, 1:5])
                       for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    # Resume mid-epoch: the same images, shifted the same way.
    b1 = Batches(X, t, 8, shuffle=True, seed=3, shift=1)
    it = iter(b1)
    [next(it) for _ in range(3)]
    state = b1.state_dict()
    rest = list(it)
    b2 = Batches(X, t, 8, shuffle=True, seed=3, shift=1)
    b2.load_state_dict(state)
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(rest, list(b2)))
    with pytest.raises(ValueError, match="expected shift"):
        Batches(X.view(50, -1), t, 8, shift=2)
