"""Overfitting and underfitting on real MNIST, and the slide's remedies, on the same axes.

    dlref-overfit                                   # all six runs of configs/overfit.yaml
    dlref-overfit --variants overfitting underfitting --trainer.max_epochs=30

The recipe is ``configs/overfit.yaml``, read by the ``dlref fit`` parser (any of its options can
follow, e.g. ``--model.lr=0.05``): the large FCN 784-800-10 without dropout, the slide's plain rule
W ← W − η ∂L/∂W, validated on the same held-out images in every run; the test set is never read.
On 1,000 training images its training loss keeps falling while its validation loss reaches a
minimum and turns up: it has started to learn the noise of its 1,000 images (overfitting). A
too-small FCN (784-2-10: each image squeezed into two numbers) cannot even fit its training
images (underfitting). Then the remedies, each one change to the overfitting run: more training
data (10,000 images), L2 weight decay (dlref.SGD's weight_decay=λ, the same update as adding
λ/2·‖W‖² to the loss), dropout, and early stopping on the validation loss (Lightning's
EarlyStopping). Writes overfitting.png, remedies.png, history.json and each run's metrics.csv to
runs/overfit/version_N/.
"""

import argparse
import json
import math
import sys
import time
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch

from dlref import figures
from dlref.cli.console import quiet
from dlref.cli.errors import UsageError
from dlref.cli.recipe import CONFIGS, RUNS_DIR, recipe
from dlref.cli.runs import claim_version, run_command
from dlref.data.split import validation_split
from dlref.lightning.kfold import SplitDataModule, data_settings, fold_settings, train_and_validate
from dlref.lightning.module import Classifier

RUNS = Path(RUNS_DIR) / "overfit"
VARIANTS = ("overfitting", "underfitting", "more-data", "weight-decay", "dropout", "early-stopping")
REMEDIES = ("overfitting", "more-data", "weight-decay", "dropout", "early-stopping")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="dlref-overfit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS), metavar="RUN",
                        help=f"which runs to make, of: {' '.join(VARIANTS)} (default: all)")
    parser.add_argument("--train-size", type=int, default=1000, help="training images of the small set (1000)")
    parser.add_argument("--more-data", type=int, default=10000, help="training images for the more-data run (10000)")
    parser.add_argument("--small-hidden", type=int, default=2, help="hidden units of the too-small FCN (2)")
    parser.add_argument("--weight-decay", type=float, default=1e-2, help="L2 weight decay λ (1e-2)")
    parser.add_argument("--dropout", type=float, default=0.5, help="dropout probability p (0.5)")
    parser.add_argument("--patience", type=int, default=5,
                        help="early stopping: epochs without a lower validation loss before stopping (5)")
    parser.add_argument("--config", default=str(CONFIGS / "overfit.yaml"),
                        help="the study's recipe (default: configs/overfit.yaml)")
    parser.add_argument("--out", default=str(RUNS), help=f"folder for the run's files (default: {RUNS})")
    parser.epilog = "Other options are those of `dlref fit` (see `dlref fit --help`), e.g. --trainer.max_epochs=30."
    return parser.parse_known_args(argv)


def settings(args, hidden: int) -> dict[str, dict]:
    """What each run changes, starting from the recipe's large FCN on the small training set."""
    n = args.train_size
    large = dict(hidden=hidden, dropout=0.0, weight_decay=0.0, train_size=n, patience=None)
    return {
        "overfitting": dict(large, label=f"large FCN 784-{hidden}-10, {n:,} images"),
        "underfitting": dict(large, hidden=args.small_hidden, label=f"too small FCN 784-{args.small_hidden}-10, "
                                                                      f"{n:,} images"),
        "more-data": dict(large, train_size=args.more_data, label=f"more data: {args.more_data:,} images"),
        "weight-decay": dict(large, weight_decay=args.weight_decay, label=f"L2 weight decay λ={args.weight_decay:g}"),
        "dropout": dict(large, dropout=args.dropout, label=f"dropout p={args.dropout:g}"),
        "early-stopping": dict(large, patience=args.patience, label=f"early stopping (patience {args.patience})"),
    }


def summarize(h: dict) -> dict:
    best = int(np.argmin(h["val/loss"]))
    return dict(epochs=len(h["val/loss"]), min_val_loss_epoch=best + 1, min_val_loss=h["val/loss"][best],
                final_val_loss=h["val/loss"][-1], train_loss_at_min=h["train/loss"][best],
                final_train_loss=h["train/loss"][-1], best_val_acc=max(h["val/acc"]), final_val_acc=h["val/acc"][-1])


def _check(args) -> None:
    for name in ("train_size", "more_data", "small_hidden", "patience"):
        if getattr(args, name) < 1:
            raise ValueError(f"dlref-overfit expected --{name.replace('_', '-')} >= 1, found {getattr(args, name)}; "
                             "pass a positive number.")
    if not 0 <= args.dropout < 1:
        raise ValueError(f"dlref-overfit expected 0 <= --dropout < 1, found {args.dropout}; pass e.g. --dropout 0.5.")
    if not 0 <= args.weight_decay < math.inf:
        raise ValueError(f"dlref-overfit expected a finite --weight-decay >= 0, found {args.weight_decay}; pass e.g. "
                         "--weight-decay 0.01.")


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    return run_command("dlref-overfit", lambda: _main(*parse_args(argv)), argv)


def _main(args, rest: list[str]) -> int:
    quiet()
    _check(args)
    cli = recipe("--config", args.config, *[a for a in rest if a != "--debug"])  # the study's recipe
    base, max_epochs, trainer = fold_settings(cli)
    if not isinstance(max_epochs, int) or max_epochs < 1:
        raise UsageError(f"dlref-overfit expected at least one epoch per run, found max_epochs={max_epochs}; pass "
                         "e.g. --trainer.max_epochs=30 (the curves need epochs to show).")
    dm = cli.datamodule
    X, t = dm.training_data()  # normalised training images; the test set stays unread
    train_pool, val_idx = validation_split(t, dm.val_size, seed=dm.seed)
    largest = max(args.train_size, args.more_data if "more-data" in args.variants else 0)
    if largest > len(train_pool):
        raise ValueError(f"dlref-overfit expected at most {len(train_pool):,} training images beside "
                         f"{len(val_idx):,} validation images, found {largest:,}; pass smaller sizes.")
    # One seeded order of the training pool: the 1,000 images are the first 1,000 of the 10,000.
    order = train_pool[torch.randperm(len(train_pool), generator=torch.Generator().manual_seed(dm.seed))]
    run_dir = Path(args.out) / f"version_{claim_version(Path(args.out), '--out')}"
    hidden = base["network_kwargs"].get("hidden", 800)
    print(f"dlref-overfit: {max_epochs} epochs per run, {len(val_idx):,} validation images -> {run_dir}", flush=True)
    results, start = {}, time.perf_counter()
    for name in (v for v in VARIANTS if v in args.variants):
        s = settings(args, hidden)[name]
        pl.seed_everything(cli.config.seed_everything or 0, verbose=False)
        model = Classifier(**{**base, "network_kwargs": {**base["network_kwargs"], "hidden": s["hidden"],
                                                         "dropout": s["dropout"]},
                              "weight_decay": s["weight_decay"] or base["weight_decay"]})
        data = SplitDataModule(X, t, order[: s["train_size"]].sort().values, val_idx, **data_settings(dm))
        stop = pl.callbacks.EarlyStopping("val/loss", patience=s["patience"], mode="min") if s["patience"] else None
        history, _ = train_and_validate(model, data, max_epochs, [stop] if stop else None, run_dir, name, **trainer)
        history["stopped_epoch"] = stop.stopped_epoch + 1 if stop and stop.stopped_epoch else None
        results[name] = dict(label=s["label"], settings=s, summary=summarize(history), history=history)
        r = results[name]["summary"]
        print(f"  {name:15s} lowest val loss {r['min_val_loss']:.4f} at epoch {r['min_val_loss_epoch']:2d}/"
              f"{r['epochs']:2d}, then {r['final_val_loss']:.4f}; train loss {r['train_loss_at_min']:.4f} -> "
              f"{r['final_train_loss']:.4f}; val accuracy best {r['best_val_acc']:.2%}, last {r['final_val_acc']:.2%} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    (run_dir / "history.json").write_text(json.dumps(results, indent=1) + "\n")
    written = []
    fit_panels = {f"{v.capitalize()}: {results[v]['label']}": results[v]["history"]
                  for v in ("overfitting", "underfitting") if v in results}
    if fit_panels:
        written.append(figures.fitting_curves(
            fit_panels, run_dir / "overfitting.png",
            f"Overfitting and underfitting on MNIST ({len(val_idx):,} validation images)"))
    remedies = {results[v]["label"]: results[v]["history"] for v in REMEDIES if v in results}
    if len(remedies) > 1:
        written.append(figures.compare_curves(
            remedies, run_dir / "remedies.png",
            f"Remedies for overfitting: large FCN 784-{hidden}-10 on {args.train_size:,} images, and each change"))
    print(f"dlref-overfit: {time.perf_counter() - start:.0f} s; wrote {', '.join(str(p) for p in written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
