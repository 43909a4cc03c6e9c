"""Classifier — the slides' train/evaluate loops handed to Lightning.

One ``LightningModule`` for every network in ``dlref.networks``: the step is
the three lines of ``dlref.train`` (predict, loss, update — Lightning calls
``backward`` and ``optimizer.step``), the loss is ``dlref.cross_entropy`` on
logits, the optimizer ``dlref.SGD`` unless the config names a torch one, and
accuracy is a torchmetrics object per stage, logged per epoch under
``train/``, ``val/`` and ``test/``. Hyper-parameters are plain strings and
numbers, so checkpoints load under ``torch.load(weights_only=True)``.

Checkpoints also carry what a bit-exact resume needs beyond Lightning's own
state: the torch, numpy and Python RNG states (dropout draws from torch's).
A loss that stops being finite ends the run at that step, before the update,
so no NaN weights are ever saved.
"""

import random

import lightning.pytorch as pl
import numpy as np
import torch
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassAccuracy

import dlref
from dlref import networks
from dlref.recipes import RECIPES

OPTIMIZERS = {
    "sgd": dlref.SGD,  # the slide's W ← W − η ∂L/∂W, bit-exact torch.optim.SGD
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "adadelta": torch.optim.Adadelta,
    "rmsprop": torch.optim.RMSprop,
}
SCHEDULES = ("none", "onecycle", "cosine", "step")
STAGES = ("train", "val", "test")


class DivergenceError(RuntimeError):
    """The training loss became NaN or infinite."""


def rng_states() -> dict:
    """Every global RNG a step draws from, as tensors and plain values (safe under ``weights_only``)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
        "python": random.getstate(),
    }


def set_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    kind, keys, pos, has_gauss, gauss = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(states["python"])


class Classifier(pl.LightningModule):
    """A ``dlref`` network trained with the slides' loss and optimizer, run by Lightning.

    Args:
        network: ``fcn``, ``cnn`` or ``lstm`` (a builder in ``dlref.networks``).
        network_kwargs: sizes passed to the builder, e.g. ``{"hidden": 800}``.
        optimizer: ``sgd`` (``dlref.SGD``), ``adam``, ``adamw``, ``adadelta`` or ``rmsprop``.
        lr, momentum, weight_decay, nesterov: the optimizer's settings (``momentum`` and
            ``nesterov`` only for SGD and RMSprop); ``None`` takes the network's recipe.
        schedule: learning-rate schedule: ``none``, ``onecycle`` (per step: up to ``lr`` over the first
            ``pct_start`` of the steps, then down), ``cosine`` (per epoch, to 0 at ``max_epochs``) or
            ``step`` (× ``gamma`` every ``step_size`` epochs).
    """

    def __init__(
        self,
        network: str = "fcn",
        network_kwargs: dict | None = None,
        optimizer: str = "sgd",
        lr: float | None = None,
        momentum: float | None = None,
        weight_decay: float | None = None,
        nesterov: bool = False,
        schedule: str = "none",
        step_size: int = 1,
        gamma: float = 0.7,
        pct_start: float = 0.3,
        num_classes: int = 10,
    ):
        super().__init__()
        if network not in RECIPES:
            raise ValueError(f"Classifier expected network in {sorted(RECIPES)}, found {network!r}; pick one of them.")
        if optimizer not in OPTIMIZERS:
            raise ValueError(
                f"Classifier expected optimizer in {sorted(OPTIMIZERS)}, found {optimizer!r}; pick one of them."
            )
        if schedule not in SCHEDULES:
            raise ValueError(f"Classifier expected schedule in {SCHEDULES}, found {schedule!r}; pick one of them.")
        recipe = RECIPES[network]
        lr = recipe["lr"] if lr is None else lr
        if lr <= 0:
            raise ValueError(f"Classifier expected a learning rate lr > 0, found lr={lr}; pass e.g. --model.lr=0.05.")
        if not 0 < pct_start < 1:
            raise ValueError(
                f"Classifier expected 0 < pct_start < 1, found pct_start={pct_start}; pass e.g. --model.pct_start=0.3."
            )
        self.save_hyperparameters(dict(
            network=network, network_kwargs=dict(network_kwargs or {}), optimizer=optimizer, lr=lr,
            momentum=recipe["momentum"] if momentum is None else momentum,
            weight_decay=recipe["weight_decay"] if weight_decay is None else weight_decay,
            nesterov=nesterov, schedule=schedule, step_size=step_size, gamma=gamma, pct_start=pct_start,
            num_classes=num_classes,
        ))
        self.model = getattr(networks, network)(**self.hparams.network_kwargs)
        for stage in STAGES:  # one metric object per stage: their states never mix
            setattr(self, f"{stage}_acc", MulticlassAccuracy(num_classes, average="micro", validate_args=False))
            setattr(self, f"{stage}_loss", MeanMetric(nan_strategy="disable"))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.model(X)

    def _step(self, batch, stage: str) -> torch.Tensor:
        X, t = batch
        Y = self.model(X)  # logits (batch, classes)
        loss = dlref.cross_entropy(Y, t)
        # States stay on the device, with no check that reads them back: no sync per step. They are logged
        # once an epoch (_log_epoch): self.log costs about 2 ms a call, as much as an FCN step on 2 CPU cores.
        getattr(self, f"{stage}_acc").update(Y.detach(), t)
        # The batch mean once per example, so the epoch mean weighs batches by size (weight= is ignored
        # by torchmetrics 1.9 under nan_strategy="disable").
        getattr(self, f"{stage}_loss").update(loss.detach().expand(len(X)))
        return loss

    def _log_epoch(self, stage: str) -> None:
        # Metric objects: Lightning calls compute() (summed over every process under DDP), then reset().
        self.log(f"{stage}/acc", getattr(self, f"{stage}_acc"), prog_bar=stage != "train")
        self.log(f"{stage}/loss", getattr(self, f"{stage}_loss"), prog_bar=stage != "train")

    def on_train_epoch_end(self) -> None:
        self._log_epoch("train")

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")

    def training_step(self, batch, batch_idx):
        loss = self._step(batch, "train")
        if not torch.isfinite(loss):  # before backward and the update: the weights stay as they were
            lr = self.trainer.optimizers[0].param_groups[0]["lr"] if self.trainer.optimizers else self.hparams.lr
            raise DivergenceError(
                f"training diverged at step {self.global_step} (epoch {self.current_epoch}, batch {batch_idx}): "
                f"expected a finite loss, found {loss.item()}; the learning rate {float(lr):g} is likely too high, so "
                f"lower it (e.g. --model.lr={float(lr) / 10:g}) or clip gradients (--trainer.gradient_clip_val=1.0)."
            )
        return loss

    def validation_step(self, batch, batch_idx):
        self._step(batch, "val")

    def test_step(self, batch, batch_idx):
        self._step(batch, "test")

    def predict_step(self, batch, batch_idx):
        X = batch[0] if isinstance(batch, (tuple, list)) else batch
        return self.model(X).argmax(dim=1)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["rng_states"] = rng_states()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "rng_states" in checkpoint:
            set_rng_states(checkpoint["rng_states"])

    def configure_optimizers(self):
        h = self.hparams
        kwargs = dict(lr=h.lr, weight_decay=h.weight_decay)
        if h.optimizer in ("sgd", "rmsprop"):
            kwargs["momentum"] = h.momentum
        if h.optimizer == "sgd":
            kwargs["nesterov"] = h.nesterov
        optimizer = OPTIMIZERS[h.optimizer](self.parameters(), **kwargs)
        if h.schedule == "none":
            return optimizer
        if h.schedule == "onecycle":
            total = self.trainer.estimated_stepping_batches
            scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=h.lr, total_steps=int(total),
                                                            pct_start=h.pct_start)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
        if h.schedule == "cosine":
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(self.trainer.max_epochs, 1))
        else:
            scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=h.step_size, gamma=h.gamma)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}
