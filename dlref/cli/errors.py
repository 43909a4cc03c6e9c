"""How every command ends: one sentence on stderr and an exit code, never a traceback for a user's mistake.

    2    a mistake in the command (a bad option, a missing checkpoint, testing without a chosen model)
    1    the data or the run failed (missing or damaged files, divergence, a full disk, out of memory)
    130  stopped by Ctrl-C (SIGINT), 143 stopped by SIGTERM: the shell's codes for those signals

``run(command, fn)`` calls ``fn()`` and turns each of these into its code; ``--debug`` or
``DLREF_DEBUG=1`` lets the traceback through instead. Shared by ``dlref``, ``dlref-kfold``,
``dlref-overfit`` and ``scripts/train_scratch.py``, so every entry point ends the same way.
"""

import argparse
import os
import re
import signal
import sys
from collections.abc import Callable

import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException

from dlref.data.idx import IDXError
from dlref.data.mnist import MNISTDownloadError, MNISTNotFoundError
from dlref.divergence import DivergenceError
from dlref.lightning.stop import SIGNAL_NAMES, Stopped


class UsageError(ValueError):
    """A command that would do the wrong thing; it ends with exit code 2."""


class RunError(RuntimeError):
    """The run cannot go on (e.g. its results cannot be recorded); it ends with exit code 1."""


DATA_ERRORS = (MNISTNotFoundError, MNISTDownloadError, IDXError)
STOPPED = "files already written are complete, nothing else was saved."

# Options other tools name so, and where dlref has them: a first try such as `--epochs 3` gets the right name.
USUAL = {"--epochs": "--trainer.max_epochs", "--max_epochs": "--trainer.max_epochs", "--lr": "--model.lr",
         "--batch-size": "--data.batch_size", "--batch_size": "--data.batch_size", "--seed": "--seed_everything",
         "--data_dir": "--data.data_dir", "--data-dir": "--data.data_dir"}


def debugging(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("DLREF_DEBUG", "") not in ("", "0")


def parse_error(message: str, help_command: str) -> str:
    """jsonargparse's several lines about an option, as one sentence: the option, what it takes, what it got, and
    the ``--help`` of the command that was run (``help_command``, e.g. ``dlref predict --help``)."""
    key = re.search(r'(?:Parser key|key) "([^"]+)"', message)
    given = re.search(r"(?:Given value|Got value): (.*)", message)
    kinds = []  # "int", "None", "one of '16-mixed', 'bf16-mixed'" …, in the order jsonargparse tried them
    for kind in re.findall(r"Expected a (<class '\w+'>|typing\.Literal\[[^\]]*\])", message):
        name = re.fullmatch(r"<class '(\w+)'>", kind)
        kinds.append(("None" if name.group(1) == "NoneType" else name.group(1)) if name else f"one of {kind[15:-1]}")
    if key and given:
        expected = " or ".join(dict.fromkeys(kinds)) or "another value"
        return (f"expected --{key.group(1)} to be {expected}, found {given.group(1).strip()!r}; fix the value "
                f"({help_command} lists every option and its type).")
    first = " ".join(message.split())
    unknown = re.search(r"unrecognized arguments: (\S+)", first)
    usual = USUAL.get(unknown.group(1).split("=")[0]) if unknown else None
    hint = f" (dlref calls it {usual})" if usual else ""
    return f"{first.rstrip('.')}; check the option's name{hint} and value ({help_command} lists every option)."


def verdict(error: Exception, help_command: str) -> tuple[int, str] | None:
    """The exit code and the sentence for ``error``, or ``None`` for an error that is not one of these (a bug,
    whose traceback is shown)."""
    if isinstance(error, argparse.ArgumentError):  # jsonargparse, told not to exit (dlref.cli._cli)
        return 2, parse_error(str(error), help_command)
    if isinstance(error, DivergenceError):
        return 1, error.sentence("--model.lr=")
    if isinstance(error, (*DATA_ERRORS, RunError)):
        return 1, str(error)
    if isinstance(error, OSError):
        return 1, (f"could not read or write {error.filename or 'a file'}: expected a readable, writable place with "
                   f"free space, found {error.strerror or error}; check the path, its permissions and the free space.")
    if isinstance(error, MisconfigurationException):  # Lightning's refusal of trainer settings, e.g. a missing GPU
        found = " ".join(str(error).split())[:300].rstrip(".")
        return 2, (f"expected --trainer settings this machine can run, found that Lightning says: {found}; change "
                   "them (e.g. --trainer.accelerator=cpu without a GPU).")
    if isinstance(error, (ValueError, TypeError)):  # UsageError among them
        return 2, str(error)
    text = str(error)
    if isinstance(error, torch.OutOfMemoryError) or (
            isinstance(error, RuntimeError) and ("can't allocate memory" in text or "out of memory" in text)):
        return 1, (f"ran out of memory: expected the network and a batch to fit in memory, found "
                   f"{text.strip().splitlines()[0][:200]}; use a smaller network (e.g. "
                   "--model.network_kwargs='{\"hidden\": 128}') or batch size.")
    return None


def run(command: str, fn: Callable[[], int | None], debug: bool = False, help_command: str | None = None) -> int:
    """``fn()``'s exit code (0 for ``None``), or the code and sentence of what stopped it; a parse error points
    to ``help_command`` (default ``COMMAND --help``), the help of the command that was run."""
    try:
        return fn() or 0
    except SystemExit as stop:  # argparse prints its own one-line error; --help exits 0
        return stop.code if isinstance(stop.code, int) else 2
    except Stopped as stop:
        print(f"{command}: {stop}", file=sys.stderr, flush=True)
        return 128 + stop.signum
    except KeyboardInterrupt:
        print(f"{command}: stopped by Ctrl-C (SIGINT); {STOPPED}", file=sys.stderr, flush=True)
        return 128 + signal.SIGINT
    except Exception as error:
        ending = verdict(error, help_command or f"{command} --help")
        if debug or ending is None:
            raise
        print(f"{command}: error: {ending[1]}", file=sys.stderr, flush=True)
        return ending[0]


def stop_on_signals() -> None:
    """From now on SIGINT and SIGTERM raise ``Stopped`` at once (exit 130 or 143 through ``run``); a trainer's
    ``GracefulStop`` replaces this with a stop at the end of a batch while it runs."""

    def handler(signum, frame):
        raise Stopped(signum, f"stopped by {SIGNAL_NAMES.get(signum, signum)}; {STOPPED}")

    for signum in SIGNAL_NAMES:
        signal.signal(signum, handler)
