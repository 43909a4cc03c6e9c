"""``dlref predict`` — the Training slide's last line, ``model.predict(newX)``, from the command line.

    dlref predict --ckpt_path runs/fcn/version_0/checkpoints/best.ckpt --data.images 'my_digits/*.png'
    dlref predict --ckpt_path runs/fcn/version_0/checkpoints/best.ckpt --data.images my_digits/*  # the shell's list
    dlref predict --ckpt_path runs/fcn/version_0/checkpoints/best.ckpt      # the test set: a recorded use

It runs on one device unless ``--trainer.devices`` says otherwise. Without ``--config`` the data
settings are those of the checkpoint's own run (its ``config.yaml``); the network is always the
checkpoint's, and a ``--config`` that builds another one is refused (``dlref.cli.settings.arguments``).
Each image is brought to MNIST's form (``dlref.data.images``) and normalised as the test set is. The
command prints a table (file, predicted digit, its probability, the runner-up) and writes into the
run's folder (``runs.run_dir``), never over a file that is already there, and never a new ``version_N``:

    predictions.csv         path, prediction, p0 … p9 (the ten probabilities; each row sums to 1)
    predictions.png         the deck's Figure 1.5: the first 24 inputs, each beside its ten probabilities
    predictions-layers.png  the deck's Figure 1.6 for the first input: what each layer makes of it

A later prediction from the same run writes ``predictions-2.csv``, ``predictions-2.png``, … instead.
"""

import csv
import itertools
import tempfile
import warnings
from pathlib import Path

import torch

from dlref import figures
from dlref.cli import records, runs
from dlref.cli.errors import RunError, UsageError

SHOWN = 20  # rows of the printed table; every row is in the CSV


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
            writer, label = csv.writer(f), ["label"] if labels else []  # the test set's true digit
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
    folder, mine = runs.run_dir(ckpt), datamodule.images is not None  # the learner's images, or the test set
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise RunError(f"could not write predictions into {folder}: expected the checkpoint's run folder to be "
                       f"writable, found {error.strerror or error}; make it writable (nothing was predicted)."
                       ) from None
    if not mine:  # predicting the test set is looking at it: a use, recorded like a test
        records.before_test(folder)
    if trainer.progress_bar_callback is not None:
        trainer.progress_bar_callback.disable()  # a second's work: the table is the output
    with warnings.catch_warnings():
        # Lightning restores the fit's checkpoint callbacks and warns that their folder moved; predict writes none.
        warnings.filterwarnings("ignore", "The dirpath has changed")
        P = torch.cat(trainer.predict(**{**kwargs, "return_predictions": True})).float().cpu()  # (N, 10)
    if mine:
        X, names, labels = datamodule.predict_X, [str(p) for p in datamodule.predict_paths], None
    else:
        X, names = datamodule.test_X, [f"{datamodule.dataset} test set #{k}" for k in range(len(P))]
        labels = datamodule.test_t.tolist()  # the true digits, in a column of the CSV
    csv_path, page, layers = _write_csv(folder, names, P, labels)
    network = model.hparams.network
    print(f"dlref: {network} from {ckpt} on {len(P):,} image{'s' if len(P) != 1 else ''}", flush=True)
    if not mine:
        accuracy = float((P.argmax(dim=1) == datamodule.test_t.cpu()).double().mean())
        use = records.record(folder, f"{ckpt} (dlref predict)", {"test/acc": accuracy})
        print(f"dlref: test accuracy {accuracy:.2%} ({use})", flush=True)
    print(_table(names, P), flush=True)
    print(f"dlref: predictions {csv_path}", flush=True)
    if draw:
        figures.predicted_digits(X, P, names, page, f"{network.upper()}: the input the network saw, its probabilities")
        first = names[0] if len(names[0]) < 40 else Path(names[0]).name
        figures.representations(figures.layer_outputs(model.model, X[:1]), layers,
                                f"{network.upper()}: what each layer makes of {first}")
        print(f"dlref: figures {page}, {layers}", flush=True)
