"""Settings that would do the wrong thing, refused before a command starts: one sentence each (exit 2)."""

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
