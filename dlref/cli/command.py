"""``DlrefCLI``: LightningCLI over ``Classifier`` and ``MNISTDataModule``, with what each subcommand adds around
Lightning's own run: the checkpoint read once (``dlref.cli.settings.arguments`` checked it), ``--ckpt_path last``
resolved to the run to resume, the test set used once after a fit and recorded (``dlref.cli.records``), and the
summary lines.
"""

import sys
from pathlib import Path

import lightning.pytorch as pl
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from dlref.cli import predict as predictions
from dlref.cli import records, runs, settings
from dlref.cli.console import terminal
from dlref.cli.errors import UsageError
from dlref.cli.recipe import RUNS_DIR
from dlref.lightning.checkpoints import LastCheckpoint, check_checkpoint, load
from dlref.lightning.figures import Figures
from dlref.lightning.stop import GracefulStop
from dlref.trained import learned

# What each subcommand does, for `dlref --help` and each one's own --help; `demo` is run by main() itself.
SUBCOMMANDS = {
    "fit": "train a config, then test the checkpoint chosen on validation once",
    "validate": "score a checkpoint on its run's validation images; prints the result, writes nothing",
    "test": "score a chosen checkpoint on the test set, recorded in its run folder",
    "predict": "classify your own images of digits (or the test set) with a checkpoint",
}
DEMO = "the draw-a-digit page, on http://127.0.0.1:7860 (make demo installs what it needs)"

# Two checkpoint callbacks: the best model by validation accuracy (what `test` evaluates), and the last state
# (what `--ckpt_path last` resumes), written at every epoch end and, with --last.every_n_steps=N, every N steps.
CHECKPOINT = dict(monitor="val/acc", mode="max", save_top_k=1, save_last=False, filename="best",
                  auto_insert_metric_name=False)
CHOSEN = "--ckpt_path runs/fcn/version_0/checkpoints/best.ckpt"


class DlrefCLI(LightningCLI):
    _subcommand = "fit"  # the subcommand whose parser is being built (LightningCLI builds one per subcommand)

    # Private, and kept: the only hook that says which subcommand's parser is being built, so that
    # --test_after_fit exists for fit alone.
    def _prepare_subcommand_parser(self, klass, subcommand: str, **kwargs) -> LightningArgumentParser:
        self._subcommand = subcommand
        return super()._prepare_subcommand_parser(klass, subcommand, **kwargs)

    # Private, and replaced: here LightningCLI reads a --ckpt_path file a second time (torch.load) and puts its
    # hyper-parameters over the command's own, before any public hook. dlref's reader hands over the file it read
    # for settings.arguments, and a fit keeps the model it was asked for, so that a resume with other settings is
    # refused (records.check_resume) rather than silently undone.
    def _parse_ckpt_path(self) -> None:
        subcommand = self.config.get("subcommand")
        self._asked_model = self.config[subcommand].model.clone() if subcommand == "fit" else None
        ckpt = self.config[subcommand].get("ckpt_path") if subcommand else None
        if ckpt and Path(ckpt).is_file():
            hparams = {k: v for k, v in load(ckpt).get("hyper_parameters", {}).items() if k != "_instantiator"}
            if hparams:
                self.config = self.parser.parse_object({subcommand: {"model": hparams}}, self.config)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(pl.callbacks.ModelCheckpoint, "checkpoint")
        parser.set_defaults({f"checkpoint.{k}": v for k, v in CHECKPOINT.items()})
        parser.add_lightning_class_args(LastCheckpoint, "last")
        parser.add_lightning_class_args(Figures, "figures")
        if self._subcommand == "fit":  # `dlref test --test_after_fit` would mean nothing: not offered there
            parser.add_argument("--test_after_fit", type=bool, default=True,
                                help="after fit, evaluate the best checkpoint once on the test set")

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        if self.subcommand in ("test", "validate", "predict"):
            config.trainer.logger = False  # test and predict write into the run they evaluate: never a new version_N
        if config.trainer.enable_progress_bar is None and not terminal():  # a log or a pipe: a line per epoch
            for bar in self.trainer_defaults["callbacks"]:  # (Summary), not a bar; the recipe's settings unchanged
                if isinstance(bar, TQDMProgressBar):
                    bar.disable()
        if config.trainer.enable_progress_bar is False:  # Lightning refuses a bar it was told not to show
            self.trainer_defaults["callbacks"] = [c for c in self.trainer_defaults["callbacks"]
                                                  if not isinstance(c, TQDMProgressBar)]
        loggers = [lg for lg in (config.trainer.logger if isinstance(config.trainer.logger, list) else [])
                   if getattr(lg, "init_args", None) is not None]
        for logger in loggers:
            if logger.init_args.get("name") in (None, "lightning_logs"):
                logger.init_args.name = config.model.network  # runs/fcn/version_0/...
            if logger.init_args.get("save_dir") == RUNS_DIR and config.trainer.default_root_dir:
                logger.init_args.save_dir = config.trainer.default_root_dir  # --trainer.default_root_dir moves it all
        # Every fit gets a new folder, even from a run's own config.yaml (which names its version): a logger
        # pointed at an existing version_N would replace that run's metrics.csv.
        if loggers and self.subcommand == "fit":
            version = runs.run_version(Path(loggers[0].init_args.save_dir, loggers[0].init_args.name))
            for logger in loggers if version is not None else []:  # all write into runs/<network>/version_N
                logger.init_args.version = version

    def _ckpt(self) -> str | None:
        """The subcommand's ``--ckpt_path``, to be loaded with ``weights_only`` (never full unpickling, whatever
        was asked)."""
        self.config_init[self.subcommand]["weights_only"] = True
        return self.config_init[self.subcommand].get("ckpt_path")

    def before_fit(self) -> None:
        settings.check_fit(self.trainer, self.model.hparams)
        ckpt, config = self._ckpt(), self.config_init.fit
        if ckpt == "last":
            # The newest run whose fit did not finish; the resume logs into a new version folder, so the
            # interrupted run's logs and checkpoints stay as they were.
            path, why = records.resume_point(self.trainer.loggers[0].save_dir if self.trainer.loggers else RUNS_DIR,
                                             self.model.hparams.network)
            ckpt = config["ckpt_path"] = self.config.fit["ckpt_path"] = str(path)
            if runs.rank_zero():
                print(f"dlref: resuming {path}: {why}", file=sys.stderr, flush=True)
            check_checkpoint(load(ckpt), ckpt, self.model.hparams.network)
        if ckpt:  # a resume goes on with the settings the run was made with
            asked = {**self._asked_model.as_dict(), "network_kwargs": dict(self._asked_model.network_kwargs or {})}
            records.check_resume(ckpt, load(ckpt), asked, self.config.fit)  # as Classifier keeps network_kwargs
        if runs.rank_zero():  # only rank 0 writes; another node would make a folder of its own here
            runs.check_writable(Path(self.trainer.log_dir or self.trainer.default_root_dir))
        if self.config.fit.get("test_after_fit"):  # an unusable test set is found now, not after training
            self.datamodule.check_test_set()

    def after_fit(self) -> None:
        # The fit ended as planned (a stopped, killed or crashed one never gets here): said in its run folder, so
        # that --ckpt_path last passes over it.
        last = next((Path(c.dirpath, "last.ckpt") for c in self.trainer.callbacks if isinstance(c, LastCheckpoint)
                     and c.dirpath), None)
        if self.trainer.is_global_zero and last is not None and last.is_file():
            records.record_fit_end(runs.run_dir(last), self.trainer)
        for callback in self.trainer.callbacks:
            if isinstance(callback, GracefulStop):
                callback.stop_before_test()
        if not self.config.fit.get("test_after_fit"):
            return
        # The model is chosen on validation (the best checkpoint); the test set is then used once.
        callback = self.trainer.checkpoint_callback
        best = callback.best_model_path if callback else ""
        # The best score is not restored when a resumed run logs into a new folder: then it is not judged here.
        score, classes = callback.best_model_score if best else None, self.model.hparams.num_classes
        why = ""
        if not best:  # max_steps within the first epoch, limit_val_batches=0, fast_dev_run
            why = "no model was chosen on validation (none ran, or no checkpoint was kept)"
        elif score is not None and not learned(float(score), classes):  # e.g. a finite but far too high rate
            why = (f"the best validation accuracy is {float(score):.1%}, about chance ({1 / classes:.0%}): nothing "
                   "was learned")
        if why and self.trainer.is_global_zero:
            print(f"dlref: {why}, so the test set was not used; train longer or with another learning rate, or "
                  "test a checkpoint yourself with dlref test --ckpt_path PATH.", flush=True)
        if not why:
            self._test(best, lambda: self.trainer.test(self.model, datamodule=self.datamodule, ckpt_path=best,
                                                       verbose=False, weights_only=True))

    def _figures(self) -> Figures | None:
        return next((c for c in self.trainer.callbacks if isinstance(c, Figures) and c.enabled), None)

    def _test(self, ckpt: str, test) -> None:
        """Check the record can be written, test, record the use, then show the result and the files."""
        folder, figures = runs.run_dir(ckpt), self._figures()
        if self.trainer.is_global_zero:
            records.before_test(folder)
        if figures is not None:
            figures.dirpath = str(folder)
        metrics = {k: float(v) for k, v in test()[0].items() if k.startswith("test/")}
        if not self.trainer.is_global_zero or not metrics:
            return
        use = records.record(folder, ckpt, metrics)
        print(f"dlref: run folder {folder}", flush=True)
        print(f"dlref: tested {ckpt}: test accuracy {metrics['test/acc']:.2%}, test loss {metrics['test/loss']:.4f} "
              f"({use})", flush=True)
        if figures is not None and figures.written:
            print(f"dlref: figures {', '.join(str(path) for path in figures.written)}", flush=True)

    def before_test(self) -> None:
        if not self._ckpt():
            raise UsageError("dlref test expected --ckpt_path, the checkpoint chosen on validation, found none; "
                             "testing before a model is chosen leaks the test set into its choice, so pass e.g. "
                             f"{CHOSEN}.")

    def test(self, **kwargs) -> None:  # the `dlref test` subcommand
        self._test(kwargs["ckpt_path"], lambda: self.trainer.test(**{**kwargs, "verbose": False}))

    def before_validate(self) -> None:
        if ckpt := self._ckpt():
            records.check_split(ckpt, self.config.validate)

    def validate(self, **kwargs) -> None:  # the `dlref validate` subcommand: a result to read, no files
        metrics = self.trainer.validate(**{**kwargs, "verbose": False})[0]
        if self.trainer.is_global_zero and "val/acc" in metrics:
            print(f"dlref: validated {kwargs.get('ckpt_path') or 'the initial weights'}: val accuracy "
                  f"{float(metrics['val/acc']):.2%}, val loss {float(metrics['val/loss']):.4f}", flush=True)

    def before_predict(self) -> None:
        if not self._ckpt():
            raise UsageError(f"dlref predict expected --ckpt_path, a trained model, found none; pass e.g. {CHOSEN} "
                             "(untrained weights would predict at random).")

    def predict(self, **kwargs) -> None:  # the `dlref predict` subcommand: a table, predictions.csv, Figures 1.5, 1.6
        predictions.predict(self.trainer, kwargs, draw=self._figures() is not None)
