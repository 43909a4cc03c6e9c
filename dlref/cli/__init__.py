"""The ``dlref`` command: LightningCLI over ``Classifier`` and ``MNISTDataModule``.

    dlref fit --config configs/fcn.yaml            # fit, then test the best checkpoint once
    dlref fit --config configs/cnn.yaml --trainer.max_epochs=1 --data.data_dir=...
    dlref test --config configs/fcn.yaml --ckpt_path runs/fcn/version_0/checkpoints/best.ckpt
    dlref fit --print_config

Defaults a newcomer needs: CSV logs (and TensorBoard's when it is installed)
under ``runs/<network>/version_N/``, the best (by validation accuracy) and last
checkpoints beside them, Lightning's progress bar, and a summary line with the
test accuracy. A mistake in the command or the data ends in one sentence and
a non-zero exit (``dlref.cli.errors``); ``--debug`` or ``DLREF_DEBUG=1``
shows the traceback. Ctrl-C or SIGTERM stop a fit at the end of a batch after
writing ``last.ckpt`` (``dlref.lightning.stop``).
"""

import sys
import warnings

from dlref.cli import runs, settings
from dlref.cli.command import DEMO, SUBCOMMANDS, DlrefCLI
from dlref.cli.console import EpochBar, Summary, quiet
from dlref.cli.errors import UsageError
from dlref.cli.recipe import TRAINER_DEFAULTS
from dlref.lightning.mnist import MNISTDataModule
from dlref.lightning.module import Classifier
from dlref.lightning.stop import GracefulStop

__all__ = ["DlrefCLI", "main"]


def _cli(args: list[str], run: bool = True) -> DlrefCLI:
    settings.check_config_args(args)  # a missing recipe, named with those there are (also for recipe())
    # main() hands over sys.argv itself (less --debug): not the mistake this warning is about.
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
    return DlrefCLI(
        Classifier,
        MNISTDataModule,
        trainer_defaults={
            **TRAINER_DEFAULTS,
            "logger": runs.loggers(),
            "callbacks": [Summary(), EpochBar(), GracefulStop()],
            "plugins": [{"class_path": "dlref.lightning.checkpoints.AtomicCheckpointIO"}],
        },
        save_config_callback=runs.SaveFitConfig,
        save_config_kwargs={"overwrite": False},
        # A parse error raises instead of printing the whole usage: dlref.cli.errors makes it one sentence.
        parser_kwargs={"exit_on_error": False,
                       **{name: {"exit_on_error": False, "description": f"dlref {name}: {what}."}
                          for name, what in SUBCOMMANDS.items()}},
        seed_everything_default=0,
        args=args,
        run=run,
    )


def usage() -> str:
    """``dlref --help``: every subcommand, ``demo`` included, in one line each."""
    width = max(map(len, [*SUBCOMMANDS, "demo"]))
    lines = [f"  {name:<{width}}  {what}" for name, what in [*SUBCOMMANDS.items(), ("demo", DEMO)]]
    return "\n".join([
        f"usage: dlref {{{','.join([*SUBCOMMANDS, 'demo'])}}} [options]", "",
        "The slides' networks on MNIST: train, evaluate and use them. configs/*.yaml are the recipes.", "",
        "subcommands:", *lines, "",
        "dlref SUBCOMMAND --help lists a subcommand's options. --debug shows a traceback instead of one sentence; "
        "--verbose shows Lightning's own messages.",
    ])


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["demo"]:  # the draw-a-digit page (dlref.demo) is not a LightningCLI subcommand
        from dlref.demo.cli import main as demo

        return demo(args[1:])
    if args in (["-h"], ["--help"]):  # LightningCLI's own lists the Trainer's methods and not demo
        print(usage())
        return 0
    if "--verbose" not in args:
        quiet()
    rest = [a for a in args if a not in ("--debug", "--verbose")]
    first = rest[0] if rest else None
    help_command = f"dlref {first} --help" if first in SUBCOMMANDS else "dlref --help"

    def command() -> None:
        if first is None or not first.startswith("-") and first not in SUBCOMMANDS:
            raise UsageError(f"expected a subcommand, one of {', '.join([*SUBCOMMANDS, 'demo'])}, found "
                             f"{repr(first) if first else 'none'}; run e.g. dlref fit --config configs/fcn.yaml "
                             "(dlref --help says what each does).")
        _cli(settings.arguments(rest))

    return runs.run_command("dlref", command, args, help_command)
