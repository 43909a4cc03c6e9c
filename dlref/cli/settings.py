"""The command line before the parser reads it, and settings that would do the wrong thing, refused before a
command starts: one sentence each (exit 2)."""

import json
import sys
from pathlib import Path

import yaml

from dlref.cli import records, runs
from dlref.cli.errors import UsageError
from dlref.cli.recipe import CONFIGS, RUNS_DIR
from dlref.data.images import SUFFIXES
from dlref.lightning.checkpoints import check_checkpoint, find_last, load

VERBS = {"validate": "validating", "test": "testing", "predict": "predicting with"}  # the subcommands of a model


def _values(args: list[str], *names: str) -> list[str]:
    """Every value given to one of ``names`` (``--name value`` or ``--name=value``), in order; the parser takes
    the last."""
    found = []
    for k, arg in enumerate(args):
        for name in names:
            if arg == name and k + 1 < len(args):
                found.append(args[k + 1])
            elif arg.startswith(name + "="):
                found.append(arg[len(name) + 1:])
    return found


def _option(args: list[str], name: str) -> str | None:
    return (_values(args, name) or [None])[-1]


def check_config_args(args: list[str]) -> None:
    """A ``--config`` file that is not there (``make train MODEL=CNN``) is named with the configs there are,
    rather than the parser's bare "File does not exist"."""
    for value in _values(args, "--config", "-c"):
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


def _network(config: str) -> str | None:
    """``model.network`` in a ``--config`` value (a file, or YAML/JSON text), if it names one."""
    try:
        text = Path(config).read_text() if Path(config).is_file() else config
        model = (yaml.safe_load(text) or {}).get("model") or {}
    except (OSError, ValueError, AttributeError, yaml.YAMLError):
        return None  # the CLI's own parser says what is wrong with it
    return model.get("network") if isinstance(model, dict) else None


def images(args: list[str]) -> list[str]:
    """``--data.images a.png b.png …``, as the shell hands an unquoted glob (``my_digits/*``), as one list: its
    image files and folders, as a quoted glob would take them. One value is left as it is."""
    out, k = [], 0
    while k < len(args):
        arg, k = args[k], k + 1
        if arg != "--data.images" and not arg.startswith("--data.images="):
            out.append(arg)
            continue
        given = [arg.split("=", 1)[1]] if "=" in arg else []
        while k < len(args) and not args[k].startswith("--"):  # up to the next option
            given.append(args[k])
            k += 1
        if len(given) > 1:
            kept = [g for g in given if Path(g).is_dir() or Path(g).suffix.lower() in SUFFIXES] or given
            out.append("--data.images=" + json.dumps(kept))
        else:
            out += [arg] if "=" in arg else [arg, *given]
    return out


def arguments(args: list[str]) -> list[str]:
    """The command's arguments, its ``--ckpt_path`` read (``dlref.trained.read``, once for the whole command) and
    checked before LightningCLI takes the file's hyper-parameters over the config's. For ``predict``,
    ``validate`` and ``test`` they are completed: ``--ckpt_path last`` as the newest ``last.ckpt`` of the network,
    the checkpoint's run's ``model`` and ``data`` settings first when no ``--config`` is given (with one, a
    checkpoint of another network than it builds is refused), and for predict the images the shell expanded as
    one list and one device unless told otherwise. ``fit``'s are returned as they are (its ``last`` is the run to
    resume, found once the run folder is known: ``DlrefCLI``)."""
    verb = args[0] if args and args[0] in VERBS else None
    if verb == "predict":
        args = images(args)
        if _option(args, "--trainer.devices") is None:  # auto: one process per GPU
            args = ["predict", "--trainer.devices=1", *args[1:]]
    configs, asked = _values(args, "--config", "-c"), _option(args, "--model.network")
    network = next((n for n in reversed([*map(_network, configs), asked]) if n), None)
    ckpt = _option(args, "--ckpt_path")
    if verb and ckpt == "last":  # nothing to resume here: the latest weights of the network, said so
        ckpt = str(find_last(_option(args, "--trainer.default_root_dir") or RUNS_DIR, network or "fcn"))
        args = [*args, f"--ckpt_path={ckpt}"]  # the later value is the one taken
        if runs.rank_zero():
            print(f"dlref: {VERBS[verb]} {ckpt}, the newest last.ckpt of {network or 'fcn'} (--ckpt_path last)",
                  file=sys.stderr, flush=True)
    if ckpt and ckpt != "last":
        # LightningCLI would build the checkpoint's network and drop the config's without a word; a fit is
        # compared with its checkpoint whole (records.check_resume).
        check_checkpoint(load(ckpt), ckpt, network if verb else None)
    if not verb or not ckpt or configs or asked:
        return args  # before_predict says what is missing
    config = records.recorded_config(ckpt)  # {} when there is none: the checkpoint still names the network
    recipe = {k: config[k] for k in ("model", "data") if isinstance(config.get(k), dict)}
    return [verb, "--config", json.dumps(recipe), *args[1:]] if recipe else args


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
    if schedule in records.LENGTHWISE and trainer.max_epochs in (None, -1) and trainer.max_steps in (None, -1):
        raise UsageError(f"dlref fit expected a run of known length for the {schedule} schedule, found "
                         f"max_epochs={trainer.max_epochs} (no limit); pass e.g. --trainer.max_epochs=20, or "
                         "--model.schedule=none to train until you stop it.")
