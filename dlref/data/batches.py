"""Whole batches sliced from tensors in memory: the data path of the slides' ``train(data)`` loop.

One index tensor and one gather per batch: no per-sample Python work, no collate. Only a training iterator shuffles;
epoch ``e``'s order depends on ``seed + e`` alone (as ``DistributedSampler``'s), never on the global RNG. Each
``iter()`` serves the next epoch, as a ``DataLoader`` does, unless ``load_state_dict`` (the epoch and how many of its
batches were handed out) asked to finish an interrupted one. Under DDP every rank draws the same permutation and keeps
its share: equal in training (the last ``n mod world_size`` of the order are dropped), contiguous and exactly once in
evaluation. ``shift=k`` moves each training image by up to ``k`` pixels (``dlref.data.augment``), offsets drawn from
the epoch's generator after its permutation, so a resumed epoch repeats them too.
"""

import torch

from .augment import shift as shift_images


def check_sizes(batch_size: int, eval_batch_size: int = 1, shift: int = 0) -> None:
    """A recipe's batching numbers (``--data.batch_size``, ``--data.eval_batch_size``, ``--data.shift``), checked
    before any data is read: by the DataModule and by the plain loop's script."""
    if batch_size < 1 or eval_batch_size < 1:
        raise ValueError(
            f"expected batch sizes >= 1, found batch_size={batch_size}, eval_batch_size={eval_batch_size}; "
            "pass e.g. --data.batch_size=128."
        )
    if not isinstance(shift, int) or shift < 0:
        raise ValueError(f"expected shift as an int >= 0, found {shift!r}; pass e.g. --data.shift=2 (pixels).")


class Batches:
    """Iterate ``(X[idx], t[idx])`` over ``len(X)`` examples, ``batch_size`` at a time."""

    def __init__(self, X: torch.Tensor, t: torch.Tensor, batch_size: int, shuffle: bool = False, seed: int = 0,
                 drop_last: bool = False, rank: int = 0, world_size: int = 1, shift: int = 0):
        if len(X) != len(t):
            raise ValueError(
                f"Batches expected as many targets as inputs, found {len(X)} inputs and {len(t)} targets; "
                "pass X and t of the same length."
            )
        if batch_size < 1:
            raise ValueError(f"Batches expected batch_size >= 1, found {batch_size}; pass e.g. batch_size=128.")
        if not isinstance(shift, int) or shift < 0 or (shift and X.dim() != 4):
            raise ValueError(
                f"Batches expected shift as an int >= 0 and, with a shift, images (N, channels, height, width), "
                f"found shift={shift!r} and inputs {tuple(X.shape)}; pass e.g. shift=2 with X.view(-1, 1, 28, 28)."
            )
        self.X, self.t, self.batch_size, self.shuffle, self.drop_last = X, t, batch_size, shuffle, drop_last
        self.shift = shift
        self.fill = float(X.min()) if shift and len(X) else 0.0  # MNIST's background: the darkest pixel value
        self.rank, self.world_size = rank, world_size
        self.size = self._shard(torch.arange(len(X))).numel()  # examples this rank sees per epoch
        self.seed, self.epoch = seed, 0
        self._next = 0  # batches of `epoch` handed out so far
        self._resume = None  # the first batch to serve, from load_state_dict

    def __len__(self) -> int:
        return self.size // self.batch_size if self.drop_last else -(-self.size // self.batch_size)

    def _shard(self, order: torch.Tensor) -> torch.Tensor:
        if self.world_size == 1:
            return order
        if self.shuffle:  # training: equal shares, interleaved
            return order[: len(order) // self.world_size * self.world_size][self.rank :: self.world_size]
        return order.tensor_split(self.world_size)[self.rank]  # evaluation: each example once

    def _order(self, generator: torch.Generator) -> torch.Tensor | None:
        if not self.shuffle and self.world_size == 1:
            return None  # plain slices: views, no gather
        order = torch.randperm(len(self.X), generator=generator) if self.shuffle else torch.arange(len(self.X))
        return self._shard(order).to(self.X.device)

    def __iter__(self):
        # Runs at the first next(): a new epoch unless the last one was never begun or a resume is pending.
        if self._resume is not None:
            self._next, self._resume = self._resume, None
        elif self._next:
            self.epoch, self._next = self.epoch + 1, 0
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = self._order(generator)
        offsets = None
        if self.shift:  # one (dy, dx) per example, drawn after the permutation
            offsets = torch.randint(-self.shift, self.shift + 1, (len(self.X), 2), generator=generator)
            offsets = offsets.to(self.X.device)
        while self._next < len(self):
            start = self._next * self.batch_size
            idx = slice(start, start + self.batch_size) if order is None else order[start : start + self.batch_size]
            self._next += 1
            if self._next == len(self):  # the epoch's last batch: a checkpoint from now on resumes the next one
                self.epoch, self._next = self.epoch + 1, 0
            X = self.X[idx] if offsets is None else shift_images(self.X[idx], offsets[idx], self.shift, self.fill)
            yield X, self.t[idx]
            if self._next == 0:
                return

    def state_dict(self) -> dict:
        """The seed, the epoch being served and how many of its batches have been handed out."""
        next_batch = self._next if self._resume is None else self._resume
        return {"seed": self.seed, "epoch": self.epoch, "next_batch": next_batch}

    def load_state_dict(self, state: dict) -> None:
        """The next ``iter()`` serves the rest of the saved epoch, in the saved order."""
        self.seed, self.epoch, self._resume = int(state["seed"]), int(state["epoch"]), int(state["next_batch"])
