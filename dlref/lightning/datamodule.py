"""Data held in memory as a ``LightningDataModule``: the base, your own tensors, scikit-learn's 8×8 digits.

MNIST itself is ``dlref.lightning.mnist``. The tensors stay in memory (on the GPU when training runs there) and are
served in whole batches by ``dlref.data.batches.Batches``: one gather per batch, no collate. The validation set is the
slide's ``split`` (``dlref.split``: seeded, stratified) of the training images; the test set is only prepared for
``test`` and ``predict``. Only the training batches shuffle, with their own generator; under DDP each process serves
its own share.
"""

import lightning.pytorch as pl
import torch

from dlref import split
from dlref.data.batches import Batches, check_sizes
from dlref.data.mnist import CLASSES
from dlref.data.split import check_labels, check_limit, first, train_share


class InMemoryDataModule(pl.LightningDataModule):
    """Train / validation / test tensors held in memory; subclasses say how to load them.

    Args:
        batch_size, eval_batch_size: examples per training step, and per evaluation batch.
        val_size: the validation set held out of the training images: a fraction (by default 1/12, which is
            5,000 of MNIST's 60,000, and still a twelfth of a ``limit``), or a count.
        seed: seeds the hold-out split and the order of every epoch.
        limit: use only the first ``limit`` training images (quick runs).
        num_classes: labels are ``0 … num_classes − 1``; checked once per set, never per batch.
        shift: move each training image by a random offset of up to ``shift`` pixels each epoch
            (data augmentation, ``dlref.data.augment``); validation and test images never move.
    """

    checked_classes = 0  # > 0: `load` gives labels its reader already checked to lie in 0 … checked_classes − 1

    def __init__(self, batch_size: int = 128, eval_batch_size: int = 1000, val_size: int | float = 1 / 12,
                 seed: int = 0, limit: int | None = None, shift: int = 0, num_classes: int = CLASSES):
        super().__init__()
        check_sizes(batch_size, eval_batch_size, shift)  # now, not when the data is read
        check_limit(limit)
        self.batch_size, self.eval_batch_size, self.val_size = batch_size, eval_batch_size, val_size
        self.seed, self.limit, self.shift, self.num_classes = seed, limit, shift, num_classes
        self.train_X = self.train_t = self.val_X = self.val_t = self.test_X = self.test_t = None
        self._train_batches = None
        self._loader_state = None  # from a checkpoint, for the training batches

    def load(self, stage: str) -> tuple[torch.Tensor, torch.Tensor]:
        """``(examples, labels (N,) int64)`` of ``stage`` ``train`` or ``test``, as stored; ``transform`` makes
        the examples network inputs (images ``(N, 1, H, W)`` float32, normalised)."""
        raise NotImplementedError

    def transform(self, X: torch.Tensor) -> torch.Tensor:
        """What ``load`` gives → network inputs; the identity unless a subclass stores its data otherwise."""
        return X

    def _checked(self, X: torch.Tensor, stage: str) -> torch.Tensor:
        X = self.transform(X)
        # In slices: on the whole set, the temporaries of isfinite and sum (a float, two booleans, an int64
        # count) would add several hundred MB to the peak memory of setup.
        bad = sum(int((~torch.isfinite(part)).sum()) for part in X.split(4096))
        if bad:
            raise ValueError(
                f"{type(self).__name__} expected finite pixel values in the {stage} images, found {bad} NaN or "
                "infinite values; re-create the data (e.g. re-download MNIST) or fix the transform that made them."
            )
        return X

    def _set(self, stage: str) -> tuple[torch.Tensor, torch.Tensor]:
        """``load(stage)`` (for ``train`` its first ``limit`` examples) with its labels checked, once."""
        X, t = first(*self.load(stage), self.limit) if stage == "train" else self.load(stage)
        if not 0 < self.checked_classes <= self.num_classes:
            check_labels(t, self.num_classes, type(self).__name__, "training" if stage == "train" else "test")
        return X, t

    def check_test_set(self) -> None:
        """Raise now, not after a whole training, if the test set cannot be read or is empty."""
        self._set("test")

    def training_data(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The whole training set (its first ``limit`` examples if set) as network inputs; never the test set."""
        X, t = self._set("train")
        return self._checked(X, "train"), t

    def _device(self) -> torch.device:
        trainer = self.trainer
        return trainer.strategy.root_device if trainer is not None else torch.device("cpu")

    def setup(self, stage: str) -> None:
        device = self._device()
        if stage in ("fit", "validate") and self.train_X is None:
            X, t = self._set("train")
            (train_X, train_t), (val_X, val_t) = split((X, t), train_share(t, self.val_size), seed=self.seed)
            # Split first, then transform each part: the whole set is never held twice as floats.
            # Kept on the training device: batches are sliced there, nothing is copied per step.
            self.train_X, self.train_t = self._checked(train_X, "train").to(device), train_t.to(device)
            self.val_X, self.val_t = self._checked(val_X, "train").to(device), val_t.to(device)
        if stage in ("test", "predict") and self.test_X is None:
            X, t = self._set("test")
            self.test_X, self.test_t = self._checked(X, "test").to(device), t.to(device)

    def _shards(self) -> dict:
        trainer = self.trainer
        return dict(rank=trainer.global_rank, world_size=trainer.world_size) if trainer is not None else {}

    def train_dataloader(self) -> Batches:
        if self._train_batches is None:  # one object: it counts the epochs and its place in one
            self._train_batches = Batches(self.train_X, self.train_t, self.batch_size, shuffle=True, seed=self.seed,
                                          shift=self.shift, **self._shards())
            if self._loader_state is not None:
                self._train_batches.load_state_dict(self._loader_state)
        return self._train_batches

    # Lightning saves these in every checkpoint and restores them on every resume. It restores the
    # loader's own state only when a checkpoint was written mid-epoch, not at an epoch's end.
    def state_dict(self) -> dict:
        return {"train_batches": self._train_batches.state_dict()} if self._train_batches is not None else {}

    def load_state_dict(self, state: dict) -> None:
        self._loader_state = state.get("train_batches")
        if self._train_batches is not None and self._loader_state is not None:
            self._train_batches.load_state_dict(self._loader_state)

    def val_dataloader(self) -> Batches:
        return Batches(self.val_X, self.val_t, self.eval_batch_size, **self._shards())

    def test_dataloader(self) -> Batches:
        return Batches(self.test_X, self.test_t, self.eval_batch_size, **self._shards())

    def predict_dataloader(self) -> Batches:
        return self.test_dataloader()


class TensorDataModule(InMemoryDataModule):
    """Your own tensors: training images and labels (validation is held out of them), and test ones.

        TensorDataModule(train_X, train_t, test_X, test_t, batch_size=64, val_size=0.1)

    Images ``(N, channels, height, width)`` float, already normalised; labels ``(N,)`` int64.
    """

    def __init__(self, train_X: torch.Tensor, train_t: torch.Tensor, test_X: torch.Tensor | None = None,
                 test_t: torch.Tensor | None = None, **kwargs):
        super().__init__(**kwargs)
        self.tensors = {"train": (train_X, train_t), "test": (test_X, test_t)}

    def load(self, stage: str):
        X, t = self.tensors["train" if stage == "train" else "test"]
        if X is None or t is None:
            raise ValueError(f"TensorDataModule expected test tensors for {stage!r}, found none; pass test_X and "
                             "test_t.")
        return X, t


class DigitsDataModule(InMemoryDataModule):
    """scikit-learn's bundled 8×8 digits (1,797 images): real data that always works offline.

    A seeded, stratified 20% is held out as the test set. Use with a network built for 8×8 inputs, e.g.
    ``--model.network_kwargs='{"in_features": 64}'`` for the FCN.
    """

    def __init__(self, batch_size: int = 64, eval_batch_size: int = 1000, val_size: int | float = 0.2,
                 seed: int = 0, limit: int | None = None):
        super().__init__(batch_size, eval_batch_size, val_size, seed, limit)

    def load(self, stage: str):
        from sklearn.datasets import load_digits

        digits = load_digits()
        X = torch.tensor(digits.images, dtype=torch.float32) / 16  # 0..16 → 0..1, (N, 8, 8)
        train, test = split((X, torch.tensor(digits.target, dtype=torch.int64)), 0.8, seed=12345)  # a fixed test set
        X, t = train if stage == "train" else test
        return ((X - train[0].mean()) / train[0].std()).unsqueeze(1), t
