"""Stopping a run on request without losing it: Ctrl-C (SIGINT) or SIGTERM.

The first signal only raises a flag; the run stops at the end of the batch it is in, so no file is ever cut off
mid-write. During training it first writes ``last.ckpt``, which ``--ckpt_path last`` resumes exactly as if the run
had never stopped. A second signal stops at once. Either way the command ends with the conventional exit code, 130
for SIGINT and 143 for SIGTERM (``dlref.cli.errors.run``).
"""

import signal
import sys
from pathlib import Path

import lightning.pytorch as pl

SIGNAL_NAMES = {signal.SIGINT: "Ctrl-C (SIGINT)", signal.SIGTERM: "SIGTERM"}


class Stopped(BaseException):
    """A run stopped on request (SIGINT or SIGTERM) after saving what a resume needs."""

    def __init__(self, signum: int, message: str):
        super().__init__(message)
        self.signum = signum


class GracefulStop(pl.Callback):
    """Stops at the end of the current batch after the first SIGINT or SIGTERM; at once after a second."""

    def __init__(self):
        self.signum, self._before = None, {}

    def _handler(self, signum, frame) -> None:
        name = SIGNAL_NAMES.get(signum, signum)
        if self.signum is not None:
            raise Stopped(signum, f"stopped at once by a second {name}; the last complete checkpoint is kept.")
        self.signum = signum
        print(f"\ndlref: {name} received: stopping at the end of this batch (send it again to stop at once)",
              file=sys.stderr, flush=True)

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self.signum, self._before = None, {signum: signal.getsignal(signum) for signum in SIGNAL_NAMES}
        for signum in SIGNAL_NAMES:
            signal.signal(signum, self._handler)

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        for signum, handler in self._before.items():
            signal.signal(signum, handler)

    def _stop(self, what: str) -> None:
        if self.signum is not None:
            raise Stopped(self.signum, f"stopped by {SIGNAL_NAMES.get(self.signum, self.signum)} {what}.")

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        # Not at an epoch's last batch: the epoch's validation and its checkpoint come first, and the run
        # stops at the next batch (or before the test, if that was the last epoch).
        if self.signum is None or batch_idx + 1 >= trainer.num_training_batches:
            return
        saved = "nothing was saved (no checkpoint folder)"
        folder = getattr(trainer.checkpoint_callback, "dirpath", None)
        if folder:
            path = Path(folder) / "last.ckpt"
            trainer.save_checkpoint(path, weights_only=False)  # a collective under DDP: every rank takes part
            saved = f"saved {path}: resume with --ckpt_path last"
        self._stop(f"after step {trainer.global_step} (epoch {trainer.current_epoch + 1}); {saved}")

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        if trainer.state.fn != "fit":  # in fit, the validation ends and is saved first
            self._stop("during validation")

    def stop_before_test(self) -> None:
        """After a fit whose last epoch a signal interrupted: stop instead of spending the test set."""
        self._stop("at the end of training, before the test; test the chosen model with `dlref test "
                   "--ckpt_path .../checkpoints/best.ckpt`")

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._stop("during the test; no test result was recorded")

    def on_predict_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._stop("during prediction; no predictions were written")
