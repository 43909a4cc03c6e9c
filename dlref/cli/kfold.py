"""Estimate how well a model generalises: hold-out, K-fold or iterated K-fold on MNIST's training set.

    dlref-kfold --config configs/fcn.yaml --scheme kfold --folds 5 --limit 10000
    dlref-kfold --config configs/fcn.yaml --scheme iterated --folds 3 --repeats 3 \\
        --limit 3000 --trainer.max_epochs=5
    dlref-kfold --config configs/fcn.yaml --scheme holdout --val-size 0.2 --limit 10000

Each fold trains a fresh model (same initial weights, new optimizer) through the same Lightning
path as `dlref fit`, then reports its validation accuracy; the score is the mean ± standard
deviation over the folds. The test set is never read. Any `dlref fit` option (--model.*,
--data.*, --trainer.max_epochs, ...) can follow. Writes folds.csv, summary.json,
cross_validation.png and each fold's metrics.csv to runs/validate/<network>/version_N/.
"""

import argparse
import csv
import json
import sys
import time
from pathlib import Path

from dlref import figures
from dlref.cli.console import quiet
from dlref.cli.errors import UsageError
from dlref.cli.recipe import RUNS_DIR, recipe
from dlref.cli.runs import claim_version, run_command
from dlref.lightning.kfold import SCHEMES, cross_validate, fold_settings

RUNS = Path(RUNS_DIR) / "validate"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="dlref-kfold", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scheme", choices=SCHEMES, default="kfold",
                        help="holdout: one split; kfold: K folds; iterated: K-fold repeated with reshuffling")
    parser.add_argument("--folds", type=int, default=5, help="K, the number of folds (default: 5)")
    parser.add_argument("--repeats", type=int, default=3, help="P, repeats of K-fold for --scheme iterated (3)")
    parser.add_argument("--val-size", type=float, default=0.2,
                        help="validation share for --scheme holdout: a fraction, or a count if >= 1 (0.2)")
    parser.add_argument("--limit", type=int, help="use only the first N training images (quick runs)")
    parser.add_argument("--seed", type=int, help="seed for the folds, weights and shuffling (default: the config's)")
    parser.add_argument("--no-stratify", action="store_true", help="cut folds without keeping each digit's share")
    parser.add_argument("--out", default=str(RUNS), help=f"folder for the run's files (default: {RUNS})")
    parser.epilog = "Other options are those of `dlref fit` (see `dlref fit --help`), e.g. --config configs/fcn.yaml."
    return parser.parse_known_args(argv)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    return run_command("dlref-kfold", lambda: _main(*parse_args(argv)), argv)


def _main(args, rest: list[str]) -> int:
    quiet()  # no "GPU available" or "Seed set" per fold
    limit = [f"--data.limit={args.limit}"] if args.limit else []
    cli = recipe(*[a for a in rest if a != "--debug"], *limit)  # exactly `dlref fit`'s model, data and trainer
    model_kwargs, max_epochs, trainer = fold_settings(cli)
    if not isinstance(max_epochs, int) or max_epochs < 1:
        raise UsageError(f"dlref-kfold expected at least one epoch per fold, found max_epochs={max_epochs}; pass "
                         "e.g. --trainer.max_epochs=3 (untrained folds would score chance).")
    limit = cli.datamodule.limit  # --limit, or --data.limit
    seed = args.seed if args.seed is not None else (cli.config.seed_everything or 0)
    val_size = int(args.val_size) if args.val_size >= 1 else args.val_size
    folder = Path(args.out) / model_kwargs["network"]
    run_dir = folder / f"version_{claim_version(folder, '--out')}"
    print(f"dlref-kfold: {args.scheme}, {model_kwargs['network']}, {max_epochs} epochs per fold, "
          f"seed {seed}, {f'first {limit:,}' if limit else 'all'} training images -> {run_dir}", flush=True)
    start = time.perf_counter()

    def progress(name: str, metrics: dict) -> None:
        print(f"  {name}: validation accuracy {metrics['val/acc']:.2%}, loss {metrics['val/loss']:.4f} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)

    result = cross_validate(cli.datamodule, model_kwargs, args.scheme, args.folds, args.repeats, val_size, seed,
                            not args.no_stratify, max_epochs, log_dir=run_dir, report=progress, **trainer)
    seconds = time.perf_counter() - start
    with open(run_dir / "folds.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["fold", "val_acc", "val_loss"])
        writer.writerows(zip(result.names, result.accuracies, result.losses))
    summary = dict(scheme=args.scheme, folds=len(result.accuracies), mean_val_acc=result.mean, std_val_acc=result.std,
                   seed=seed, limit=limit, max_epochs=max_epochs, seconds=round(seconds, 1),
                   model=model_kwargs)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    labels = [name.replace("repeat ", "r").replace(", fold ", "f").replace("fold ", "") for name in result.names]
    picture = figures.fold_scores(result.histories, result.accuracies, run_dir / "cross_validation.png",
                                  f"{model_kwargs['network'].upper()}, {result}", labels)
    print(f"dlref-kfold: {result}; {seconds:.0f} s; wrote {picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
