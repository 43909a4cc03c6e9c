"""Classifier — the slides' train/evaluate loops handed to Lightning.

One ``LightningModule`` for every network in ``dlref.networks``: the step is the three lines of ``dlref.train``
(predict, loss, update — Lightning calls ``backward`` and ``optimizer.step``), with ``dlref.cross_entropy`` on logits
and the optimizer and schedule of ``dlref.optimization``. Accuracy and loss are torchmetrics objects per stage, logged
per epoch under ``train/``, ``val/`` and ``test/``. Hyper-parameters are plain strings and numbers, so checkpoints
load under ``torch.load(weights_only=True)``. Divergence and the random states of a resume are ``Callback``s
(``dlref.lightning.callbacks``).
"""

import lightning.pytorch as pl
import torch
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassAccuracy

import dlref
from dlref import networks
from dlref.data.mnist import CLASSES
from dlref.lightning.callbacks import RNGState, StopOnDivergence
from dlref.optimization import check, make_optimizer, make_schedule


class Classifier(pl.LightningModule):
    """A ``dlref`` network trained with the slides' loss and optimizer, run by Lightning.

    Args:
        network: ``fcn``, ``cnn`` or ``lstm`` (a builder in ``dlref.networks``).
        network_kwargs: sizes passed to the builder, e.g. ``{"hidden": 800}``.
        optimizer: ``sgd`` (``dlref.SGD``), ``adam``, ``adamw``, ``adadelta`` or ``rmsprop``.
        lr, momentum, weight_decay, nesterov: the optimizer's settings (``momentum`` and
            ``nesterov`` only for SGD and RMSprop). These defaults are every config's starting point:
            ``configs/*.yaml`` name only what differs.
        schedule: learning-rate schedule: ``none``, ``onecycle`` (per step: up to ``lr`` over the first
            ``pct_start`` of the steps, then down), ``cosine`` (per epoch, to 0 at ``max_epochs``) or
            ``step`` (× ``gamma`` every ``step_size`` epochs).
    """

    def __init__(self, network: str = "fcn", network_kwargs: dict | None = None, optimizer: str = "sgd",
                 lr: float = 0.05, momentum: float = 0.9, weight_decay: float = 0.0, nesterov: bool = False,
                 schedule: str = "none", step_size: int = 1, gamma: float = 0.7, pct_start: float = 0.3,
                 num_classes: int = CLASSES):
        super().__init__()
        if network not in networks.NETWORKS:
            raise ValueError(f"Classifier expected network in {tuple(networks.NETWORKS)}, found {network!r}; pick one "
                             "of them.")
        self.save_hyperparameters(dict(
            network=network, network_kwargs=dict(network_kwargs or {}), optimizer=optimizer, lr=lr,
            momentum=momentum, weight_decay=weight_decay, nesterov=nesterov, schedule=schedule,
            step_size=step_size, gamma=gamma, pct_start=pct_start, num_classes=num_classes,
        ))
        check(self.hparams)  # the optimizer's and the schedule's settings (dlref.optimization)
        self.model = networks.build(network, self.hparams.network_kwargs, "Classifier")
        for stage in ("train", "val", "test"):  # one metric object per stage: their states never mix
            setattr(self, f"{stage}_acc", MulticlassAccuracy(num_classes, average="micro", validate_args=False))
            setattr(self, f"{stage}_loss", MeanMetric(nan_strategy="disable"))
        # The training metrics' running sums go into checkpoints, so a run resumed mid-epoch logs the
        # same epoch figures as one that never stopped.
        self.train_acc.persistent(True)
        self.train_loss.persistent(True)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.model(X)

    def _step(self, batch, stage: str) -> torch.Tensor:
        X, t = batch
        Y = self.model(X)  # logits (batch, classes)
        loss = dlref.cross_entropy(Y, t, check=False)  # the data checked the labels' range, once
        # States stay on the device, with no check that reads them back: no sync per step. They are logged
        # once an epoch: a self.log call per step would cost as much as a small network's step.
        getattr(self, f"{stage}_acc").update(Y.detach(), t)
        # The batch mean once per example, so the epoch mean weighs batches by size (weight= is ignored
        # by torchmetrics 1.9 under nan_strategy="disable").
        getattr(self, f"{stage}_loss").update(loss.detach().expand(len(X)))
        return loss

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        self._step(batch, "val")

    def test_step(self, batch, batch_idx):
        self._step(batch, "test")

    def predict_step(self, batch, batch_idx):
        """The slide's ``model.predict(newX)`` as probabilities ``(batch, classes)``; ``argmax(1)`` is the class."""
        X = batch[0] if isinstance(batch, (tuple, list)) else batch
        return dlref.softmax(self.model(X))  # the network gives logits

    def on_fit_start(self) -> None:
        classes = getattr(self.trainer.datamodule, "num_classes", self.hparams.num_classes)
        if classes != self.hparams.num_classes:  # the data checked its labels against its own count
            raise ValueError(f"Classifier expected data with its {self.hparams.num_classes} classes, found data with "
                             f"{classes}; pass the same --model.num_classes and --data.num_classes.")

    def on_train_epoch_end(self) -> None:
        # Computed (summed over every process) and reset here, before the epoch-end checkpoint is
        # written: the checkpoint carries the running sums, and a resumed epoch must start from zero.
        for name in ("acc", "loss"):
            metric = getattr(self, f"train_{name}")
            self.log(f"train/{name}", metric.compute())
            metric.reset()

    # Metric objects: Lightning calls compute() (summed over every process under DDP), then reset().
    def on_validation_epoch_end(self) -> None:
        self.log_dict({"val/acc": self.val_acc, "val/loss": self.val_loss}, prog_bar=True)

    def on_test_epoch_end(self) -> None:
        self.log_dict({"test/acc": self.test_acc, "test/loss": self.test_loss}, prog_bar=True)

    def configure_callbacks(self) -> list[pl.Callback]:
        return [StopOnDivergence(), RNGState()]

    def configure_optimizers(self):
        optimizer = make_optimizer(self.parameters(), self.hparams)
        steps = self.trainer.estimated_stepping_batches
        scheduler, interval = make_schedule(optimizer, self.hparams, int(steps), max(self.trainer.max_epochs or 1, 1))
        if scheduler is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": interval}}
