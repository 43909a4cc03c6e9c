"""Stopping a run on request without losing it: Ctrl-C (SIGINT) or SIGTERM.

The first signal only raises a flag; the run stops at the end of the batch it is in, so no file is
ever cut off mid-write. During training it first writes ``last.ckpt``, which ``--ckpt_path last``
resumes exactly as if the run had never stopped. A second signal stops at once. Either way the
command ends with the conventional exit code, 130 for SIGINT and 143 for SIGTERM
(``dlref.lightning.errors.run``).
"""

import signal
import sys
from pathlib import Path

import lightning.pytorch as pl

from dlref.lightning.errors import SIGNAL_NAMES, Stopped


class GracefulStop(pl.Callback):
    """Stops at the end of the current batch after the first SIGINT or SIGTERM; at once after a second."""

    def __init__(self):
        self.signum = None
        self._before = {}

    def _handler(self, signum, frame) -> None:
        name = SIGNAL_NAMES.get(signum, signum)
        if self.signum is not None:
            raise Stopped(signum, f"stopped at once by a second {name}; the last complete checkpoint is kept.")
        self.signum = signum
        print(f"\ndlref: {name} received: stopping at the end of this batch ({name} again to stop at once)",
              file=sys.stderr, flush=True)

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self.signum = None
        self._before = {signum: signal.getsignal(signum) for signum in SIGNAL_NAMES}
        for signum in SIGNAL_NAMES:
            signal.signal(signum, self._handler)

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        for signum, handler in self._before.items():
            signal.signal(signum, handler)

    def _stop(self, trainer: pl.Trainer, what: str) -> None:
        if self.signum is not None:
            raise Stopped(self.signum, f"stopped by {SIGNAL_NAMES.get(self.signum, self.signum)} {what}.")

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.signum is None:
            return
        saved = "nothing was saved (no checkpoint folder)"
        folder = getattr(trainer.checkpoint_callback, "dirpath", None)
        if folder:
            path = Path(folder) / "last.ckpt"
            trainer.save_checkpoint(path)  # a collective under DDP: every rank takes part
            saved = f"saved {path}: resume with --ckpt_path last"
        self._stop(trainer, f"after step {trainer.global_step} (epoch {trainer.current_epoch + 1}); {saved}")

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._stop(trainer, "during validation; the last checkpoint is kept: resume with --ckpt_path last"
                   if trainer.state.fn == "fit" else "during validation")

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._stop(trainer, "during the test; no test result was recorded")

    def on_predict_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._stop(trainer, "during prediction; no predictions were written")
