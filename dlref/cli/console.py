"""What a run prints: the network in one line, the progress bar counting epochs from 1 on a terminal, a
line per epoch when the bar is off (by default in a log or a pipe), the epochs this process ran.
Third-party banners, tips and deprecation notices stay off the console unless ``--verbose`` is given
(``quiet``).
"""

import logging
import re
import sys
import time
import warnings

import lightning.pytorch as pl
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.callbacks.progress.tqdm_progress import Tqdm


def describe(model) -> str:
    """``Flatten → Layer(784, 800, relu) → …``: a network in one line, from each layer's own description."""
    layers = getattr(model, "layers", None) or list(model.children())
    return " → ".join(f"{type(layer).__name__}({re.sub(r'[a-z_]+=', '', layer.extra_repr())})".replace("()", "")
                      for layer in layers)


class Summary(pl.Callback):
    """What a run prints besides the progress bar: the network before fit, one line per epoch (above the bar,
    when there is one), and at the end of fit the epochs this process ran and their seconds."""

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = time.perf_counter()
        if trainer.is_global_zero:
            n = sum(p.numel() for p in pl_module.parameters())
            print(f"dlref: {pl_module.hparams.network}, {n:,} parameters: {describe(pl_module.model)}", flush=True)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._first_epoch = trainer.current_epoch  # after a resume, the epochs before it ran elsewhere

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Not on_validation_epoch_end: callbacks run before the module's own hook, where the epoch's metrics
        # are logged, so they would still read the previous epoch's. Here they are this epoch's.
        metrics = trainer.callback_metrics
        if trainer.sanity_checking or not trainer.is_global_zero or trainer.state.fn != "fit":
            return
        self._validated = True
        if "val/acc" in metrics and hasattr(self, "_start"):
            pl_module.print(f"dlref: epoch {trainer.current_epoch + 1}/{trainer.max_epochs} val accuracy "
                            f"{metrics['val/acc'].item():.2%}, val loss {metrics['val/loss'].item():.4f} "
                            f"({time.perf_counter() - self._start:.1f} s)")  # above the bar, when there is one
            sys.stdout.flush()

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero and hasattr(self, "_first_epoch"):
            ran = trainer.current_epoch - self._first_epoch
            what = "training and validation" if getattr(self, "_validated", False) else "training, no validation"
            print(f"dlref: fit ran {ran} epoch{'s' if ran != 1 else ''} in {time.perf_counter() - self._start:.1f} s"
                  f" ({what}), up to epoch {trainer.current_epoch} of {trainer.max_epochs}", flush=True)


class EpochBar(TQDMProgressBar):
    """Lightning's progress bar, counting epochs from 1 as every dlref line and figure does, without a bar for
    the two validation batches Lightning checks before training. Off a terminal (a log file, a pipe) the
    validation bar is off too: drawn below the epoch's, it moves the cursor up (``ESC[A``), which a log keeps."""

    def init_sanity_tqdm(self):
        return Tqdm(disable=True)  # as Lightning's own stand-in bar: nothing drawn, not even at its start

    def init_validation_tqdm(self):
        if self.trainer.state.fn == "fit" and not terminal():
            return Tqdm(disable=True)
        return super().init_validation_tqdm()

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Not Lightning's own, which draws the bar once as "Epoch 0" before any description could change it.
        bar, total = self.train_progress_bar, self.total_train_batches
        of = f"/{trainer.max_epochs}" if trainer.max_epochs not in (None, -1) else ""
        bar.set_description(f"Epoch {trainer.current_epoch + 1}{of}", refresh=False)
        bar.reset(total=total)  # drawn here, already named
        bar.initial = 0

    def get_metrics(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict:
        return {k: v for k, v in super().get_metrics(trainer, pl_module).items() if k != "v_num"}


def terminal() -> bool:
    """Whether the console is a terminal: progress bars there, a line per epoch in a log or a pipe."""
    return sys.stdout.isatty()


def quiet() -> None:
    """Keep third-party banners, tips and deprecation notices off the console (``--verbose`` keeps them)."""
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for category in (DeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category)
    warnings.filterwarnings("ignore", ".*smaller than the logging interval.*")  # dlref logs per epoch only
    warnings.filterwarnings("ignore", ".*is deprecated.*")
    # test/validate/predict restore a fit's checkpoint callbacks, whose folder they never write into
    warnings.filterwarnings("ignore", ".*dirpath has changed.*")
    warnings.filterwarnings("ignore", ".*could not find the monitored key.*")  # no validation: dlref says so itself
    warnings.filterwarnings("ignore", ".*sync_dist=True.*")  # the training metrics are summed over processes first
