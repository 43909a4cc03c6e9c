"""Cross-validation — the "Evaluation" slide's validation schemes, every fold trained by Lightning.

    dm = MNISTDataModule(limit=10000)
    result = cross_validate(dm, {"network": "fcn", "schedule": "cosine"}, scheme="kfold", folds=5, max_epochs=20)
    print(result)  # kfold, 5 folds: validation accuracy …% ± …% (mean ± std over folds)

Each ``(train_idx, val_idx)`` of ``dlref.data.split`` (the hold-out ``validation_split``, ``kfold`` or
``iterated_kfold``) gets a fresh ``Classifier``, seeded alike (folds differ only in their data), fitted by a new
``Trainer`` on the fold's training rows and validated on its validation rows. The score is the mean of the folds'
final validation accuracies; their standard deviation says how much one hold-out score could be off. Only
``datamodule.training_data()`` is read: the test set never is.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch

from dlref.data.split import iterated_kfold, kfold, validation_split
from dlref.lightning.datamodule import InMemoryDataModule
from dlref.lightning.figures import History
from dlref.lightning.module import Classifier
from dlref.lightning.stop import GracefulStop

SCHEMES = ("holdout", "kfold", "iterated")
QUIET = dict(enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
             num_sanity_val_steps=0)  # a fold gives a score, not a model to keep
# The trainer settings of `dlref fit` that only a kept, logged model needs; a fold takes every other one.
FOLD_ONLY = ("logger", "callbacks", "default_root_dir", "plugins", "max_epochs", *QUIET)


class SplitDataModule(InMemoryDataModule):
    """Training and validation rows picked by index from one set of images; there is no test set.

    Args:
        X, t: images ``(N, 1, H, W)`` and labels ``(N,)``, the training data only.
        train_idx, val_idx: the rows of each, e.g. one pair from ``dlref.data.split.kfold``.
    """

    def __init__(self, X: torch.Tensor, t: torch.Tensor, train_idx: torch.Tensor, val_idx: torch.Tensor, **kwargs):
        super().__init__(**kwargs)
        self.X, self.t, self.train_idx, self.val_idx = X, t, train_idx, val_idx

    def load(self, stage: str):
        raise RuntimeError(f"SplitDataModule holds only training data and was asked for {stage!r}; it never loads "
                           "the test set: test a chosen model with the dlref command.")

    def setup(self, stage: str) -> None:
        if stage not in ("fit", "validate"):
            self.load(stage)
        if self.train_X is None:
            device = self._device()
            self.train_X, self.train_t = self.X[self.train_idx].to(device), self.t[self.train_idx].to(device)
            self.val_X, self.val_t = self.X[self.val_idx].to(device), self.t[self.val_idx].to(device)


def train_and_validate(model: pl.LightningModule, datamodule: pl.LightningDataModule, max_epochs: int,
                       callbacks: list | None = None, log_dir=None, name: str = "", **trainer_kwargs):
    """Fit ``model`` for ``max_epochs`` and validate it once more; returns ``(history, {"val/acc", "val/loss"})``.

    ``history`` holds each epoch's training and validation loss and accuracy; with ``log_dir`` they are also logged to
    ``log_dir/name/metrics.csv``.
    """
    history = History()
    logger = pl.loggers.CSVLogger(log_dir, name="", version=name) if log_dir else False
    trainer = pl.Trainer(max_epochs=max_epochs, logger=logger, callbacks=[history, GracefulStop(), *(callbacks or [])],
                         default_root_dir=log_dir, **{**QUIET, **trainer_kwargs})
    trainer.fit(model, datamodule=datamodule)
    metrics = trainer.validate(model, datamodule=datamodule, verbose=False)[0]  # the weights fit ended with
    return history.history, {k: float(v) for k, v in metrics.items()}


@dataclass
class CrossValidation:
    """Each fold's final validation accuracy and loss, with its per-epoch history."""

    scheme: str
    names: list[str] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    histories: list[dict] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return float(np.mean(self.accuracies))

    @property
    def std(self) -> float:
        """Sample standard deviation over the folds (``ddof=1``); 0 for a single hold-out."""
        return float(np.std(self.accuracies, ddof=1)) if len(self.accuracies) > 1 else 0.0

    def __str__(self) -> str:
        n = len(self.accuracies)
        if n == 1:
            return f"{self.scheme}: validation accuracy {self.mean:.2%} (one split: no spread to report)"
        return f"{self.scheme}, {n} folds: validation accuracy {self.mean:.2%} ± {self.std:.2%} (mean ± std over folds)"


def splits(labels: torch.Tensor, scheme: str = "kfold", folds: int = 5, repeats: int = 3,
           val_size: int | float = 0.2, seed: int = 0, stratify: bool = True) -> list[tuple[str, tuple]]:
    """``[(name, (train_idx, val_idx)), …]`` for ``scheme`` ``holdout``, ``kfold`` or ``iterated``."""
    if scheme == "holdout":
        return [("hold-out", validation_split(labels, val_size, seed=seed, stratify=stratify))]
    if scheme == "kfold":
        return [(f"fold {k + 1}", pair) for k, pair in enumerate(kfold(labels, folds, seed=seed, stratify=stratify))]
    if scheme == "iterated":
        pairs = iterated_kfold(labels, folds, repeats, seed=seed, stratify=stratify)
        return [(f"repeat {k // folds + 1}, fold {k % folds + 1}", pair) for k, pair in enumerate(pairs)]
    raise ValueError(f"cross_validate expected scheme in {SCHEMES}, found {scheme!r}; pick one of them.")


def data_settings(datamodule: InMemoryDataModule) -> dict:
    """The settings of ``datamodule`` that a fold's ``SplitDataModule`` keeps: how batches are served."""
    return {k: getattr(datamodule, k) for k in ("batch_size", "eval_batch_size", "seed", "shift")}


def fold_settings(recipe) -> tuple[dict, int, dict]:
    """``(model_kwargs, max_epochs, trainer_kwargs)`` of every fold: those of ``dlref fit`` for the same recipe
    (``dlref.cli.recipe``), less checkpoints, logs and callbacks."""
    trainer = {k: v for k, v in recipe.config.trainer.items() if k not in FOLD_ONLY}
    return dict(recipe.model.hparams), recipe.config.trainer.max_epochs, trainer


def cross_validate(datamodule: InMemoryDataModule, model_kwargs: dict | None = None, scheme: str = "kfold",
                   folds: int = 5, repeats: int = 3, val_size: int | float = 0.2, seed: int = 0, stratify: bool = True,
                   max_epochs: int = 1, callbacks: Callable[[int], list] | None = None, log_dir=None,
                   report: Callable[[str, dict], None] | None = None, **trainer_kwargs) -> CrossValidation:
    """Train and validate one fresh ``Classifier(**model_kwargs)`` per split of the datamodule's training data.

    Args:
        datamodule: where the training images come from (``training_data()``) and the folds' data settings (batch
            sizes, seed of the order, shifts); its test set is never read.
        scheme, folds, repeats, val_size, stratify: the splits (see ``splits``); ``seed`` seeds them, the weights
            (the same for every fold) and the shuffling.
        callbacks: ``callbacks(k)`` gives fold ``k`` its own new callbacks (a callback object shared by folds would
            carry its state from one fold to the next).
        log_dir: if given, fold ``k``'s epochs are logged to ``log_dir/fold_k/metrics.csv``.
        report: called as ``report(name, metrics)`` after each fold, e.g. to print progress.
        trainer_kwargs: passed to every ``pl.Trainer`` (``accelerator``, ``devices``, ``precision``…).
    """
    if scheme not in SCHEMES:
        raise ValueError(f"cross_validate expected scheme in {SCHEMES}, found {scheme!r}; pick one of them.")
    X, t = datamodule.training_data()
    result = CrossValidation(scheme)
    for k, (name, (train_idx, val_idx)) in enumerate(splits(t, scheme, folds, repeats, val_size, seed, stratify)):
        pl.seed_everything(seed, verbose=False)
        model = Classifier(**(model_kwargs or {}))  # fresh weights; fit builds its optimizer anew
        data = SplitDataModule(X, t, train_idx, val_idx, **data_settings(datamodule))
        history, metrics = train_and_validate(model, data, max_epochs, callbacks(k) if callbacks else None,
                                              Path(log_dir) if log_dir else None, f"fold_{k + 1}", **trainer_kwargs)
        result.names.append(name)
        result.accuracies.append(metrics["val/acc"])
        result.losses.append(metrics["val/loss"])
        result.histories.append(history)
        if report is not None:
            report(name, metrics)
    return result
