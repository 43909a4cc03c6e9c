"""The ``dlref`` command: LightningCLI over ``Classifier`` and ``MNISTDataModule``.

    dlref fit --config configs/fcn.yaml            # fit, then test the best checkpoint once
    dlref fit --config configs/cnn.yaml --trainer.max_epochs=1 --data.data_dir=...
    dlref test --config configs/fcn.yaml --ckpt_path runs/fcn/version_0/checkpoints/best.ckpt
    dlref fit --print_config

Defaults a newcomer needs: CSV logs (and TensorBoard's when it is installed)
under ``runs/<network>/version_N/``, the best (by validation accuracy) and last
checkpoints beside them, Lightning's progress bar, and a summary line with the
test accuracy. A mistake in the command or the data ends in one sentence and
a non-zero exit (2 for usage errors); ``--debug`` or ``DLREF_DEBUG=1`` shows
the traceback.
"""

import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import lightning.pytorch as pl
from lightning.fabric.loggers.tensorboard import _TENSORBOARD_AVAILABLE, _TENSORBOARDX_AVAILABLE
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from dlref.data.idx import IDXError
from dlref.data.mnist import MNISTDownloadError, MNISTNotFoundError
from dlref.lightning.checkpoints import (
    CheckpointError,
    CheckpointWriteError,
    LastCheckpoint,
    check_network,
    find_last,
    load,
)
from dlref.lightning.datamodule import MNISTDataModule
from dlref.lightning.module import Classifier, DivergenceError

RUNS_DIR = "runs"
TEST_RESULTS = "test_results.jsonl"  # one line per use of the test set, next to the run's logs


class UsageError(ValueError):
    """A command that would do the wrong thing; it ends with exit code 2."""


def record_test(run_dir: Path, ckpt_path: str | None, metrics: dict) -> int:
    """Append one test evaluation to ``run_dir/test_results.jsonl``; return how many that run now has."""
    path = Path(run_dir) / TEST_RESULTS
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:  # appended, never rewritten: earlier results stay as they were
        row = {"ckpt_path": str(ckpt_path), "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
        f.write(json.dumps({**row, **{k: float(v) for k, v in metrics.items()}}) + "\n")
    return sum(1 for _ in open(path))
# Two checkpoint callbacks: the best model by validation accuracy (what `test` evaluates), and the
# last state (what `--ckpt_path last` resumes), written at every epoch end and, with
# --last.every_n_steps=N, every N steps.
CHECKPOINT = dict(monitor="val/acc", mode="max", save_top_k=1, save_last=False, filename="best",
                  auto_insert_metric_name=False)


def _loggers() -> list[dict]:
    csv = {"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"save_dir": RUNS_DIR}}
    if not (_TENSORBOARD_AVAILABLE or _TENSORBOARDX_AVAILABLE):
        return [csv]
    tensorboard = {"class_path": "lightning.pytorch.loggers.TensorBoardLogger", "init_args": {"save_dir": RUNS_DIR}}
    return [csv, tensorboard]


class Summary(pl.Callback):
    """Prints one line at the end of ``fit`` (epochs and seconds), one at the end of ``test`` — the number a
    run is judged by — and, when the progress bar is off, one line per epoch with the validation metrics and
    the seconds of training so far."""

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Not on_validation_epoch_end: callbacks run before the module's own hook, where the epoch's metrics
        # are logged, so they would still read the previous epoch's. Here they are this epoch's.
        metrics = trainer.callback_metrics
        if trainer.sanity_checking or trainer.progress_bar_callback or not trainer.is_global_zero:
            return
        if "val/acc" in metrics and hasattr(self, "_start"):
            print(f"dlref: epoch {trainer.current_epoch + 1}/{trainer.max_epochs} val accuracy "
                  f"{metrics['val/acc'].item():.2%}, val loss {metrics['val/loss'].item():.4f} "
                  f"({time.perf_counter() - self._start:.1f} s)", flush=True)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero and hasattr(self, "_start"):
            print(f"dlref: fit ran {trainer.current_epoch} epochs in {time.perf_counter() - self._start:.1f} s "
                  "(training and validation)", flush=True)

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        metrics = trainer.callback_metrics
        if trainer.is_global_zero and "test/acc" in metrics:
            print(f"dlref: {pl_module.hparams.network} test accuracy {metrics['test/acc'].item():.2%}, "
                  f"test loss {metrics['test/loss'].item():.4f}", flush=True)


class DlrefCLI(LightningCLI):
    _subcommand = "fit"  # the subcommand whose parser is being built (LightningCLI builds one per subcommand)

    def _prepare_subcommand_parser(self, klass, subcommand: str, **kwargs) -> LightningArgumentParser:
        self._subcommand = subcommand
        return super()._prepare_subcommand_parser(klass, subcommand, **kwargs)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(pl.callbacks.ModelCheckpoint, "checkpoint")
        parser.set_defaults({f"checkpoint.{k}": v for k, v in CHECKPOINT.items()})
        parser.add_lightning_class_args(LastCheckpoint, "last")
        if self._subcommand == "fit":  # `dlref test --test_after_fit` would mean nothing: not offered there
            parser.add_argument("--test_after_fit", type=bool, default=True,
                                help="after fit, evaluate the best checkpoint once on the test set")

    def _parse_ckpt_path(self) -> None:
        # LightningCLI reads the checkpoint's hyper-parameters (so its network wins over the config's);
        # read it through dlref's loader first, so an unreadable or unsafe file is one sentence.
        subcommand = self.config.get("subcommand")
        ckpt = self.config[subcommand].get("ckpt_path") if subcommand else None
        if ckpt and ckpt not in ("last", "best", "hpc", "registry"):
            load(ckpt)
        super()._parse_ckpt_path()

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        loggers = config.trainer.logger if isinstance(config.trainer.logger, list) else []
        for logger in loggers:
            if getattr(logger, "init_args", None) is None:
                continue
            if logger.init_args.get("name") in (None, "lightning_logs"):
                logger.init_args.name = config.model.network  # runs/fcn/version_0/...
            if logger.init_args.get("save_dir") == RUNS_DIR and config.trainer.default_root_dir:
                logger.init_args.save_dir = config.trainer.default_root_dir  # --trainer.default_root_dir moves it all

    def instantiate_classes(self) -> None:
        super().instantiate_classes()
        loggers = self.trainer.loggers
        for logger in loggers[1:]:  # every logger writes into the first one's runs/<network>/version_N
            if hasattr(logger, "_version") and loggers[0].name == logger.name:
                logger._version = loggers[0].version

    def after_fit(self) -> None:
        # The model is chosen on validation (the best checkpoint); the test set is then used once.
        if self.config.fit.get("test_after_fit") and not self.trainer.interrupted:
            best = self.trainer.checkpoint_callback.best_model_path if self.trainer.checkpoint_callback else ""
            metrics = self.trainer.test(self.model, datamodule=self.datamodule, ckpt_path=best or None,
                                        verbose=False, weights_only=True)[0]
            run_dir = self.trainer.log_dir or RUNS_DIR  # a collective under DDP: every rank asks
            if self.trainer.is_global_zero:
                record_test(run_dir, best or "last weights", metrics)

    def _checked_ckpt(self) -> str | None:
        """The run's ``--ckpt_path``, ``last`` resolved, checked to be readable and of this network."""
        config = self.config_init[self.subcommand]
        config["weights_only"] = True  # never full unpickling, whatever was asked
        ckpt, network = config.get("ckpt_path"), self.model.hparams.network
        if ckpt == "last":
            # The newest last.ckpt of this network; the resumed run logs into a new version folder,
            # so the interrupted run's logs and checkpoints stay as they were.
            ckpt = str(find_last(self.trainer.loggers[0].save_dir if self.trainer.loggers else RUNS_DIR, network))
            config["ckpt_path"] = self.config[self.subcommand]["ckpt_path"] = ckpt
            print(f"dlref: resuming from {ckpt}", file=sys.stderr)
        if ckpt:
            check_network(ckpt, network)
        return ckpt

    def _check_writable(self) -> None:
        folder = Path(self.trainer.log_dir or self.trainer.default_root_dir)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as error:
            raise UsageError(
                f"dlref expected a writable output folder, found {folder} is not ({error.strerror or error}); "
                "pass a writable --trainer.default_root_dir."
            ) from None

    def before_fit(self) -> None:
        self._checked_ckpt()
        self._check_writable()

    def before_validate(self) -> None:
        self._checked_ckpt()

    def before_predict(self) -> None:
        self._checked_ckpt()

    def before_test(self) -> None:
        ckpt = self._checked_ckpt()
        if not ckpt:
            raise UsageError(
                "dlref test expected --ckpt_path, the checkpoint chosen on validation, found none; testing before "
                "a model is chosen leaks the test set into its choice, so pass e.g. "
                "--ckpt_path runs/fcn/version_0/checkpoints/best.ckpt."
            )
        self._run_dir = Path(ckpt).resolve().parent.parent  # runs/<network>/version_N
        earlier = self._run_dir / TEST_RESULTS
        if earlier.is_file():
            count = sum(1 for _ in open(earlier))
            print(f"dlref: WARNING: this run's test set has already been used {count} time(s) (see {earlier}); a "
                  "model changed after seeing test results is no longer judged fairly by them.", file=sys.stderr)

    def after_test(self) -> None:
        metrics = self.trainer.callback_metrics
        if self.trainer.is_global_zero and "test/acc" in metrics:
            record_test(self._run_dir, self.config.test.ckpt_path,
                        {k: v for k, v in metrics.items() if k.startswith("test/")})


def _cli(args: list[str], run: bool = True) -> DlrefCLI:
    # main() hands over sys.argv itself (less --debug): not the mistake this warning is about.
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
    return DlrefCLI(
        Classifier,
        MNISTDataModule,
        trainer_defaults={
            "logger": _loggers(),
            "callbacks": [Summary()],
            "default_root_dir": RUNS_DIR,
            "plugins": [{"class_path": "dlref.lightning.checkpoints.AtomicCheckpointIO"}],
        },
        save_config_kwargs={"overwrite": False},
        seed_everything_default=0,
        args=args,
        run=run,
    )


RUN_ERRORS = (MNISTNotFoundError, MNISTDownloadError, IDXError, DivergenceError, CheckpointWriteError)  # exit 1
USAGE_ERRORS = (UsageError, CheckpointError, MisconfigurationException, ValueError, TypeError)  # exit 2


def report(command: str, error: Exception) -> int:
    """Print ``command: error: …`` (one sentence) on stderr; return the exit code: 1 for data and run errors,
    2 for a mistake in the command. Shared by ``dlref`` and the scripts, so every command ends the same way."""
    print(f"{command}: error: {error}", file=sys.stderr)
    return 1 if isinstance(error, RUN_ERRORS) else 2


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("DLREF_DEBUG", "") not in ("", "0")
    args = [a for a in args if a != "--debug"]
    try:
        _cli(args)
    except SystemExit as stop:  # argparse / jsonargparse already printed its one-line error
        return stop.code if isinstance(stop.code, int) else 2
    except (*RUN_ERRORS, *USAGE_ERRORS) as error:
        if debug:
            raise
        return report("dlref", error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
