"""``dlref predict`` — the Training slide's last line, ``model.predict(newX)``, from the command line.

    dlref predict --ckpt_path runs/fcn/version_0/checkpoints/best.ckpt --data.images 'my_digits/*.png'
    dlref predict --ckpt_path runs/fcn/version_0/checkpoints/best.ckpt --data.images my_digits/*  # the shell's list
    dlref predict --ckpt_path runs/fcn/version_0/checkpoints/best.ckpt      # the test set: a recorded use

It runs on one device unless ``--trainer.devices`` says otherwise. Without ``--config`` the data
settings are those of the checkpoint's own run (its ``config.yaml``); the network is always the
checkpoint's, and a ``--config`` that builds another one is refused. Each image is brought to
MNIST's form (``dlref.data.images``) and normalised as the test set is. The
command prints a table (file, predicted digit, its probability, the runner-up) and writes into the
run's folder (``runs.run_dir``), never over a file that is already there, and never a new ``version_N``:

    predictions.csv         path, prediction, p0 … p9 (the ten probabilities; each row sums to 1)
    predictions.png         the deck's Figure 1.5: the first 24 inputs, each beside its ten probabilities
    predictions-layers.png  the deck's Figure 1.6 for the first input: what each layer makes of it

A later prediction from the same run writes ``predictions-2.csv``, ``predictions-2.png``, … instead.
"""

import csv
import itertools
import json
import sys
import tempfile
import warnings
from pathlib import Path

import torch
import yaml

from dlref import figures
from dlref.cli import records, runs
from dlref.cli.errors import RunError, UsageError
from dlref.cli.recipe import RUNS_DIR
from dlref.data.images import SUFFIXES
from dlref.lightning.checkpoints import check_checkpoint, find_last, load

SHOWN = 20  # rows of the printed table; every row is in the CSV
VERBS = {"validate": "validating", "test": "testing", "predict": "predicting with"}


def _option(args: list[str], *names: str) -> str | None:
    """The last value given to one of ``names`` (``--name value`` or ``--name=value``), else ``None``."""
    value = None
    for k, arg in enumerate(args):
        for name in names:
            if arg == name and k + 1 < len(args):
                value = args[k + 1]
            elif arg.startswith(name + "="):
                value = arg[len(name) + 1:]
    return value


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
    """``dlref predict``'s, ``validate``'s and ``test``'s arguments completed: ``--ckpt_path last`` as the newest
    ``last.ckpt`` of the network, the checkpoint's run's ``model`` and ``data`` settings first when no ``--config``
    is given (with one, a checkpoint of another network than it builds is refused), and for predict the images
    the shell expanded as one list and one device unless told otherwise. ``fit``'s are returned as they are."""
    if not args or args[0] not in ("predict", "validate", "test"):
        return args
    if args[0] == "predict":
        args = images(args)
    if args[0] == "predict" and _option(args, "--trainer.devices") is None:  # auto: one process per GPU
        args = ["predict", "--trainer.devices=1", *args[1:]]
    configs = [args[k + 1] for k, a in enumerate(args[:-1]) if a in ("--config", "-c")]
    configs += [a.split("=", 1)[1] for a in args if a.startswith("--config=")]
    networks = [_network(c) for c in configs] + [_option(args, "--model.network")]
    network = next((n for n in reversed(networks) if n), None)
    ckpt = _option(args, "--ckpt_path")
    if ckpt == "last":  # nothing to resume here: the latest weights of the network, said so
        ckpt = str(find_last(_option(args, "--trainer.default_root_dir") or RUNS_DIR, network or "fcn"))
        args = [*args, f"--ckpt_path={ckpt}"]  # the later value is the one taken
        if runs.rank_zero():
            print(f"dlref: {VERBS[args[0]]} {ckpt}, the newest last.ckpt of {network or 'fcn'} (--ckpt_path last)",
                  file=sys.stderr, flush=True)
    if not ckpt or not Path(ckpt).is_file():
        return args  # before_predict says what is missing
    if configs or _option(args, "--model.network"):
        if network:  # LightningCLI would build the checkpoint's network and drop the config's without a word
            check_checkpoint(load(ckpt), ckpt, network)
        return args
    config = records.recorded_config(ckpt)  # {} when there is none: the checkpoint still names the network
    recipe = {k: config[k] for k in ("model", "data") if isinstance(config.get(k), dict)}
    return [args[0], "--config", json.dumps(recipe), *args[1:]] if recipe else args


def _check_writable(folder: Path) -> None:
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise RunError(f"could not write predictions into {folder}: expected the checkpoint's run folder to be "
                       f"writable, found {error.strerror or error}; make it writable (nothing was predicted)."
                       ) from None


def _write_csv(folder: Path, names: list[str], P: torch.Tensor, labels: list[int] | None = None
               ) -> tuple[Path, Path, Path]:
    """``predictions.csv`` and the figures' paths, or the first ``predictions-N`` set of which no file exists;
    with ``labels`` (the test set's), a ``label`` column beside each prediction."""
    for n in itertools.count(1):
        stem = folder / ("predictions" if n == 1 else f"predictions-{n}")
        paths = (stem.with_suffix(".csv"), stem.with_suffix(".png"), stem.with_name(stem.name + "-layers.png"))
        if any(p.exists() for p in paths):
            continue
        try:
            f = open(paths[0], "x", newline="")  # "x": created here or not at all, never over another's file
        except FileExistsError:
            continue
        with f:
            writer = csv.writer(f)
            label = ["label"] if labels else []  # the test set's true digit
            writer.writerow(["path", *label, "prediction", *(f"p{k}" for k in range(P.shape[1]))])
            for k, (name, digit, p) in enumerate(zip(names, P.argmax(dim=1).tolist(), P.tolist())):
                writer.writerow([name, *([labels[k]] if labels else []), digit, *p])
        return paths


def _table(names: list[str], P: torch.Tensor) -> str:
    top, digit = P.topk(2, dim=1)  # (N, 2): the predicted class and the runner-up
    width = min(max(len("file"), *map(len, names)), 48)
    lines = [f"{'file':<{width}}  digit  probability  runner-up"]
    for name, (p, q), (d, e) in itertools.islice(zip(names, top.tolist(), digit.tolist()), SHOWN):
        name = name if len(name) <= width else "…" + name[-(width - 1):]
        lines.append(f"{name:<{width}}  {d:>5}  {p:>11.1%}  {e} ({q:.1%})")
    if len(names) > SHOWN:
        lines.append(f"… and {len(names) - SHOWN:,} more in the CSV")
    return "\n".join(lines)


def predict(trainer, kwargs: dict, draw: bool) -> None:
    """Predict, then print the table and write the CSV and the figures into the checkpoint's run folder."""
    model, datamodule, ckpt = kwargs["model"], kwargs["datamodule"], kwargs["ckpt_path"]
    if trainer.world_size > 1:
        raise UsageError(f"dlref predict expected one device, found {trainer.world_size} processes; pass "
                         "--trainer.devices=1 (a few images need no more).")
    folder = runs.run_dir(ckpt)
    _check_writable(folder)
    if datamodule.images is None:  # predicting the test set is looking at it: a use, recorded like a test
        records.before_test(folder)
    if trainer.progress_bar_callback is not None:
        trainer.progress_bar_callback.disable()  # a second's work: the table is the output
    with warnings.catch_warnings():
        # Lightning restores the fit's checkpoint callbacks and warns that their folder moved; predict writes none.
        warnings.filterwarnings("ignore", "The dirpath has changed")
        P = torch.cat(trainer.predict(**{**kwargs, "return_predictions": True})).float().cpu()  # (N, 10)
    if datamodule.images is not None:
        X, names = datamodule.predict_X, [str(p) for p in datamodule.predict_paths]
    else:
        X, names = datamodule.test_X, [f"{datamodule.dataset} test set #{k}" for k in range(len(P))]
    labels = None if datamodule.images is not None else datamodule.test_t.tolist()
    csv_path, page, layers = _write_csv(folder, names, P, labels)
    network = model.hparams.network
    print(f"dlref: {network} from {ckpt} on {len(P):,} image{'s' if len(P) != 1 else ''}", flush=True)
    if datamodule.images is None:
        accuracy = float((P.argmax(dim=1) == datamodule.test_t.cpu()).double().mean())
        count = records.record(folder, f"{ckpt} (dlref predict)", {"test/acc": accuracy})
        print(f"dlref: test accuracy {accuracy:.2%} (use {count} of this run's test set, recorded in "
              f"{records.TEST_RESULTS})", flush=True)
    print(_table(names, P), flush=True)
    print(f"dlref: predictions {csv_path}", flush=True)
    if draw:
        figures.predicted_digits(X, P, names, page, f"{network.upper()}: the input the network saw, its probabilities")
        first = names[0] if len(names[0]) < 40 else Path(names[0]).name
        figures.representations(figures.layer_outputs(model.model, X[:1]), layers,
                                f"{network.upper()}: what each layer makes of {first}")
        print(f"dlref: figures {page}, {layers}", flush=True)
