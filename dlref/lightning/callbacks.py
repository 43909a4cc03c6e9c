"""What a ``Classifier`` brings to any Trainer (``Classifier.configure_callbacks``), so that the module itself is its
hyper-parameters, its steps and its optimizer.

- ``StopOnDivergence``: a loss or weights that stop being finite end the run (``dlref.divergence``): checked every
  50 steps, before validation, before a checkpoint is written and at the end of training, so non-finite weights are
  never validated or saved. The plain loop's one call is ``DivergenceGuard`` in ``dlref.train``.
- ``RNGState``: the torch, CUDA, numpy and Python random states in every checkpoint and back on resume (dropout
  draws from torch's), what a bit-exact resume needs beyond Lightning's own state.
"""

import random

import lightning.pytorch as pl
import numpy as np
import torch

from dlref.divergence import DivergenceGuard


class StopOnDivergence(pl.Callback):
    """``DivergenceGuard`` over a fit: each step's loss watched on the device, the verdict read where the weights are
    about to be used for anything but training."""

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.guard = DivergenceGuard(pl_module.parameters())

    def _check(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # The configured rate, which is what an option changes (a schedule only scales it).
        self.guard.check(trainer.global_step, pl_module.hparams.get("lr"), f" (epoch {trainer.current_epoch + 1})")

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.step = trainer.global_step  # the steps taken before this batch's

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.guard.watch(outputs["loss"] if isinstance(outputs, dict) else outputs, self.step)  # no host read
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


class RNGState(pl.Callback):
    """The random states at ``checkpoint["rng_states"]`` when a checkpoint is written, set again when it is loaded;
    as tensors and plain values, safe under ``weights_only``."""

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        kind, keys, pos, has_gauss, gauss = np.random.get_state()
        checkpoint["rng_states"] = {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
            "python": random.getstate(),
        }

    def on_load_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        if "rng_states" not in checkpoint:
            return
        states = checkpoint["rng_states"]
        torch.set_rng_state(states["torch"])
        if states["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(states["cuda"])
        kind, keys, pos, has_gauss, gauss = states["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
        random.setstate(states["python"])
