"""What a ``Classifier`` brings to any Trainer (``Classifier.configure_callbacks``): Lightning ``Callback``s for the
concerns that cut across its steps, so that the module itself is its hyper-parameters, its steps and its optimizer.

- ``StopOnDivergence``: a loss or weights that stop being finite end the run (``dlref.divergence``). Each step's
  loss is kept on the device; the verdict is read every 50 steps, before validation, before a checkpoint is
  written and at the end of training, so non-finite weights are never validated or saved. The plain loop's one
  call is ``DivergenceGuard`` in ``dlref.train``.
- ``RNGState``: the torch, CUDA, numpy and Python random states in every checkpoint and back on resume (dropout
  draws from torch's), what a bit-exact resume needs beyond Lightning's own state.
"""

import random

import lightning.pytorch as pl
import numpy as np
import torch

from dlref.divergence import DivergenceGuard


class StopOnDivergence(pl.Callback):
    """``DivergenceGuard`` over a fit: watched at every step on the device, checked where weights are about to be
    used for anything but training."""

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.guard = DivergenceGuard(pl_module.parameters())

    def _check(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # The configured rate, which is what an option changes (a schedule only scales it).
        self.guard.check(trainer.global_step, pl_module.hparams.get("lr"), f" (epoch {trainer.current_epoch + 1})")

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.step = trainer.global_step  # the steps taken before this batch's

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        self.guard.watch(loss, self.step)  # on the device: no host read per step
        if self.guard.due(trainer.global_step):
            self._check(trainer, pl_module)

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.state.fn == "fit" and hasattr(self, "guard"):
            self._check(trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._check(trainer, pl_module)

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        if trainer.state.fn == "fit" and hasattr(self, "guard"):
            self._check(trainer, pl_module)  # raises before the file is written


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


class RNGState(pl.Callback):
    """The random states at ``checkpoint["rng_states"]`` when a checkpoint is written, set again when it is loaded."""

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        checkpoint["rng_states"] = rng_states()

    def on_load_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        if "rng_states" in checkpoint:
            set_rng_states(checkpoint["rng_states"])
