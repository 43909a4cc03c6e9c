"""Run folders — where a run's files go.

A fit logs into ``runs/<network>/version_N/`` (CSV, and TensorBoard's events where it is installed),
with ``config.yaml`` and its checkpoints. ``claim_version`` gives each run its own folder, created
with one atomic ``mkdir``, so two runs started at the same moment never share it; rank 0 claims it
and hands its number to the DDP processes it starts. A command that fails removes the folder it claimed
with everything it wrote there, unless the folder holds a checkpoint a resume can go on from (``release``).
What a run records about itself (its test set's uses, whether its fit finished) is ``dlref.cli.records``.
"""

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import lightning.pytorch as pl
from lightning.pytorch.cli import SaveConfigCallback

from dlref.cli.errors import UsageError, debugging, run
from dlref.cli.recipe import RUNS_DIR
from dlref.divergence import DivergenceError

VERSION_ENV = "DLREF_RUN_VERSION"  # the run folder rank 0 claimed, for the other DDP processes it starts
_CLAIMED: list[Path] = []  # the version_N folders this process claimed (release says which stay)
_MADE: list[Path] = []  # the folders above them made for them (runs/, runs/<network>/): removed again when empty


def loggers() -> list[dict]:
    names = ["CSVLogger"] + (["TensorBoardLogger"] if importlib.util.find_spec("tensorboard")
                             or importlib.util.find_spec("tensorboardX") else [])
    return [{"class_path": f"lightning.pytorch.loggers.{name}", "init_args": {"save_dir": RUNS_DIR}} for name in names]


class SaveFitConfig(SaveConfigCallback):
    """``config.yaml`` in the run folder of a fit; test, validate and predict add nothing to a run's folder."""

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage == "fit":
            super().setup(trainer, pl_module, stage)


def rank_zero() -> bool:
    return all(int(os.environ.get(name, 0) or 0) == 0 for name in ("RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID"))


def run_dir(ckpt_path) -> Path:
    """The folder a checkpoint's test results belong in."""
    folder = Path(ckpt_path).parent
    return folder.parent if folder.name == "checkpoints" else folder


def _unwritable(folder: Path, error: OSError, option: str = "--trainer.default_root_dir") -> UsageError:
    return UsageError(f"dlref expected a writable output folder, found {folder} is not ({error.strerror or error}); "
                      f"pass a writable {option}.")


def check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise _unwritable(folder, error) from None


def claim_version(folder: Path, option: str = "--trainer.default_root_dir") -> int:
    """The number of a new ``folder/version_N``, created here: ``mkdir`` is atomic, so two runs started
    at the same moment never share one."""
    try:
        created = [p for p in (folder, *folder.parents) if not p.exists()][::-1]  # runs/, runs/fcn/ … made here
        folder.mkdir(parents=True, exist_ok=True)
        version = max((int(p.name[8:]) for p in folder.glob("version_*") if p.name[8:].isdigit()), default=-1) + 1
        while True:
            try:
                (folder / f"version_{version}").mkdir()
                # release() removes it if the command leaves it empty or fails, and then the folders made for it
                _CLAIMED.append(folder / f"version_{version}")
                _MADE.extend(reversed(created))
                return version
            except FileExistsError:
                version += 1
    except OSError as error:
        raise _unwritable(folder, error, option) from None


def run_version(folder: Path) -> int | None:
    """The ``version_N`` every process of this run logs into: claimed by rank 0, handed on to the others."""
    if rank_zero():
        os.environ[VERSION_ENV] = str(claim_version(folder))
    return int(os.environ[VERSION_ENV]) if os.environ.get(VERSION_ENV) else None


def release(failed: bool = False, resumable: bool = True) -> None:
    """At the end of a command, what becomes of the folders it claimed (``claim_version``): all were created
    by this command, so everything in them is its own. A folder left empty goes. After a failure (or a stop)
    the whole folder goes, unless it holds a checkpoint a resume can go on from (``resumable``: a full disk,
    a stop, a crash after an epoch), never after a divergence, which a resume would repeat step for step."""
    for folder in _CLAIMED:
        if folder.is_dir() and (not any(folder.iterdir()) or
                                (failed and not (resumable and any(folder.rglob("*.ckpt"))))):
            shutil.rmtree(folder)  # this command's own config.yaml, logs, figures, checkpoints: nothing the user had
    for folder in _MADE:  # then the runs/ and runs/<network>/ folders made for it, if nothing else is there
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    _CLAIMED.clear()
    _MADE.clear()
    os.environ.pop(VERSION_ENV, None)


def end_process_group(failed: bool) -> None:
    """Under DDP (torchrun, a cluster launcher, ``--trainer.strategy=ddp``): every process waits for the others
    to be done with the command, then the process group is taken down, in order, before the interpreter exits.
    Left to the interpreter's exit, a process that ends while another still uses the group can abort
    (``terminate called without an active exception``) and leave its launcher waiting at its exit barrier."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return
    try:
        if not failed:  # after a failure the others may be gone: no wait that could hang
            dist.barrier()
    finally:
        dist.destroy_process_group()


def run_command(command: str, fn, argv: list[str], help_command: str | None = None) -> int:
    """``errors.run`` of ``fn`` (its exit code, one sentence for a mistake), then ``release`` of the run folders
    the command claimed and the end of its DDP process group: how ``dlref``, ``dlref-kfold`` and
    ``dlref-overfit`` each end."""
    code, diverged = 1, False  # 1 also when --debug lets an error through

    def attempt():
        nonlocal diverged
        try:
            return fn()
        except DivergenceError:
            diverged = True
            raise

    try:
        code = run(command, attempt, debug=debugging(argv), help_command=help_command)
        return code
    finally:
        release(failed=code != 0, resumable=not diverged)
        end_process_group(failed=code != 0)
