"""Settings that would do the wrong thing, refused before a command starts: one sentence each (exit 2)."""

from pathlib import Path

from dlref.cli.errors import UsageError
from dlref.lightning.checkpoints import check_checkpoint, load


def check_fit(trainer, hparams) -> None:
    """A fit must train, clip with a norm that can be one, and know its length when a schedule spans it."""
    if trainer.max_epochs == 0 or trainer.max_steps == 0:
        raise UsageError(f"dlref fit expected at least one epoch and one step, found max_epochs="
                         f"{trainer.max_epochs}, max_steps={trainer.max_steps}; pass e.g. "
                         "--trainer.max_epochs=1 (a model that never trained must not spend the test set).")
    if trainer.gradient_clip_val is not None and not trainer.gradient_clip_val >= 0:
        raise UsageError(f"dlref fit expected --trainer.gradient_clip_val >= 0 (the largest gradient norm), found "
                         f"{trainer.gradient_clip_val}; pass e.g. 1.0, or leave it out for no clipping.")
    schedule = hparams.schedule
    if schedule in ("cosine", "onecycle") and trainer.max_epochs in (None, -1) and trainer.max_steps in (None, -1):
        raise UsageError(f"dlref fit expected a run of known length for the {schedule} schedule, found "
                         f"max_epochs={trainer.max_epochs} (no limit); pass e.g. --trainer.max_epochs=20, or "
                         "--model.schedule=none to train until you stop it.")


def check_ckpt_arg(args: list[str]) -> None:
    """LightningCLI reads a --ckpt_path's hyper-parameters while it parses (the checkpoint's network wins
    over the config's): read it through dlref's loader first, so a bad file is one sentence."""
    for i, arg in enumerate(args):
        path = arg.partition("=")[2] if arg.startswith("--ckpt_path=") else (
            args[i + 1] if arg == "--ckpt_path" and i + 1 < len(args) else None)
        if path and path not in ("last", "best", "hpc", "registry"):
            check_checkpoint(load(path), path)


CONFIGS = Path(__file__).resolve().parents[2] / "configs"  # the repository's, beside the package


def _config_values(args: list[str]) -> list[str]:
    values = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("--config", "-c")]
    return values + [a.split("=", 1)[1] for a in args if a.startswith(("--config=", "-c="))]


def check_config_args(args: list[str]) -> None:
    """A ``--config`` file that is not there (``make train MODEL=CNN``) is named with the configs there are,
    rather than the parser's bare "File does not exist"."""
    for value in _config_values(args):
        path = Path(value)
        if "\n" in value or value.lstrip().startswith(("{", "[")) or path.is_file():
            continue  # YAML or JSON given inline, or a file: the parser reads it
        folder = path.parent if path.parent.is_dir() else Path("configs") if Path("configs").is_dir() else CONFIGS
        there = sorted(folder.glob("*.yaml"))
        if not there:
            raise UsageError(f"expected --config to be a config file, found no file at {value} (and no *.yaml in "
                             f"{folder}); pass the path of a config, e.g. configs/fcn.yaml.")
        same = [c for c in there if c.name.lower() == path.name.lower()]
        case = f"{same[0]} differs only in case; " if same else ""
        raise UsageError(f"expected --config to be a config file, found no file at {value}; pass one of the configs "
                         f"in {folder}/, {', '.join(c.name for c in there)} ({case}make train takes the name alone, "
                         f"e.g. MODEL={(same or there)[0].stem}).")
