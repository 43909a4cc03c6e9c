"""What a run records about itself: each use of its test set, whether its fit finished, the recipe it ran.

Test once — the "Evaluation" slide's rule: the test set judges a model chosen without it, once. Every use of
a run's test set is appended to ``test_results.jsonl`` in that run's folder (the ``version_N`` folder above
``checkpoints/``, or the folder of a checkpoint kept elsewhere) before the result is shown; a run whose record
cannot be written is not tested. A second use is allowed but announced, with the number of earlier ones: a
model changed after its test score was seen is no longer judged fairly by it.

A fit that ends as planned (its epochs or steps, or an early stop) writes ``fit_finished.json`` in its run
folder; a fit that was stopped, killed or crashed has none, and ``--ckpt_path last`` resumes the newest such
run (``resume_point``). A resume, and a validation of a run's checkpoint, keep the settings the run recorded in
its ``config.yaml`` (``check_resume``, ``check_split``).
"""

import json
import os
import sys
import time
from pathlib import Path

import yaml

from dlref.cli.errors import RunError, UsageError
from dlref.cli.runs import run_dir

TEST_RESULTS = "test_results.jsonl"
FIT_FINISHED = "fit_finished.json"  # in a run folder: its fit ended as planned, `--ckpt_path last` passes over it
LENGTHWISE = ("cosine", "onecycle")  # the schedules laid out over a run's epochs and steps


def uses(folder: Path) -> int:
    """How many times the test set of the run in ``folder`` has been used."""
    try:
        return sum(1 for line in open(Path(folder) / TEST_RESULTS) if line.strip())
    except FileNotFoundError:
        return 0


def before_test(folder: Path) -> None:
    """Fail unless the record can be written; warn when this run's test set was used before."""
    path = Path(folder) / TEST_RESULTS
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        with open(path, "a"):
            pass
    except OSError as error:
        raise RunError(f"could not record the use of the test set in {path}: expected a writable run folder, found "
                       f"{error.strerror or error}; make the folder writable, then test again (nothing was tested)."
                       ) from None
    if earlier := uses(folder):
        print(f"dlref: WARNING: this run's test set has already been used {earlier} time(s) (see {path}); a "
              "model changed after seeing test results is no longer judged fairly by them.", file=sys.stderr)


def record(folder: Path, ckpt_path, metrics: dict) -> str:
    """Append one use of the test set to ``folder/test_results.jsonl``; say how many the run now has."""
    row = {"ckpt_path": str(ckpt_path), "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
           **{k: float(v) for k, v in metrics.items()}}
    fd = os.open(Path(folder) / TEST_RESULTS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(row) + "\n").encode())  # one write: a line is never cut in half
    finally:
        os.close(fd)
    return f"use {uses(folder)} of this run's test set, recorded in {TEST_RESULTS}"


def record_fit_end(folder: Path, trainer) -> None:
    """``folder/fit_finished.json``: the fit of this run ended as planned (its epochs or steps, an early stop).
    A fit that is stopped, killed or crashes never writes it, so ``resume_point`` can tell the two apart."""
    row = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "epochs": trainer.current_epoch,
           "global_step": trainer.global_step, "max_epochs": trainer.max_epochs, "max_steps": trainer.max_steps}
    part = Path(folder) / f".{FIT_FINISHED}.part"
    part.write_text(json.dumps(row) + "\n")
    os.replace(part, Path(folder) / FIT_FINISHED)  # whole or not at all, even under SIGKILL


def _names(paths: list[Path]) -> str:
    names = [run_dir(p).name for p in paths]
    return ", ".join(names[-3:]) if len(names) <= 3 else f"{len(names)} runs, the newest {', '.join(names[-3:])}"


def resume_point(runs_dir, network: str) -> tuple[Path, str]:
    """What ``dlref fit --ckpt_path last`` resumes, and why: the ``last.ckpt`` of the newest run of ``network``
    whose fit did not finish (no ``fit_finished.json``: stopped, killed or crashed) and that no later run went
    on from (a resume names its checkpoint in its own ``config.yaml``). A finished run is extended only by
    naming its checkpoint."""
    folder = Path(runs_dir, network)
    lasts = sorted(folder.glob("version_*/checkpoints/last.ckpt"), key=os.path.getmtime)  # oldest first
    if not lasts:
        raise UsageError(f"dlref fit --ckpt_path last expected a last.ckpt under {folder}/version_*/checkpoints/, "
                         "found none; start the run without --ckpt_path, or pass the checkpoint's path.")
    resumed = set()  # the runs another run with a checkpoint of its own went on from
    for last in lasts:
        source = recorded_config(last).get("ckpt_path")
        if isinstance(source, str) and source:
            resumed.add(run_dir(source).resolve())
    finished = [p for p in lasts if (run_dir(p) / FIT_FINISHED).is_file()]
    open_runs = [p for p in lasts if p not in finished and run_dir(p).resolve() not in resumed]
    if not open_runs:
        newest = (finished or lasts)[-1]
        model = recorded_config(newest).get("model")
        scheduled = isinstance(model, dict) and model.get("schedule") in LENGTHWISE
        extend = (f" (the newest, {run_dir(newest).name}, has a {model['schedule']} schedule laid out over its "
                  "length: it cannot be extended)" if scheduled else ", or extend one without a schedule by passing "
                  f"its checkpoint and more epochs, e.g. --ckpt_path {newest} --trainer.max_epochs=40")
        raise UsageError(f"dlref fit --ckpt_path last expected a run of {network} whose fit did not finish (stopped, "
                         f"killed or crashed) under {folder}, found only finished ones ({_names(finished or lasts)}); "
                         f"start a new run without --ckpt_path{extend}.")
    chosen = open_runs[-1]
    newer = [p for p in finished if os.path.getmtime(p) > os.path.getmtime(chosen)]
    why = (f"the newest {network} run whose fit did not finish (stopped, killed or crashed)"
           + (f"; the newer {_names(newer)} finished" if newer else ""))
    return chosen, why


# What a resume must keep: the trainer's length and the data that make each epoch's batches (and the validation
# split). The model's hyper-parameters are compared whole; data_dir and download may change (the files moved).
KEEPS = {"trainer": ("max_epochs", "max_steps", "accumulate_grad_batches", "limit_train_batches"),
         "data": ("dataset", "batch_size", "limit", "val_size", "seed", "shift")}


def recorded_config(ckpt) -> dict:
    """The whole recipe of the run ``ckpt`` belongs to (the config.yaml SaveFitConfig wrote), or ``{}``."""
    path = run_dir(ckpt) / "config.yaml"
    try:
        config = yaml.safe_load(path.read_text()) if path.is_file() else {}
    except (OSError, yaml.YAMLError):
        return {}  # unreadable: the defaults then, as for a checkpoint kept outside its run
    return config if isinstance(config, dict) else {}


def _changes(ckpt: str, config, sections: tuple[str, ...]) -> tuple[list[str], Path]:
    """The settings of ``sections`` that differ from those of the run ``ckpt`` belongs to (its config.yaml)."""
    recorded, before = run_dir(ckpt) / "config.yaml", recorded_config(ckpt)
    changed = []
    for section in sections:
        for key in KEEPS[section] if isinstance(before.get(section), dict) else ():
            now = getattr(config[section], key, None)
            if key in before[section] and before[section][key] != now:
                changed.append(f"--{section}.{key}={now!r} where the run had {before[section][key]!r}")
    return changed, recorded


def check_resume(ckpt: str, checkpoint: dict, hparams: dict, config) -> None:
    """Refuse to resume ``checkpoint`` with other settings than its run's: the weights, optimizer state and
    schedule it holds were made for them (a cosine schedule laid out over 1 epoch runs at rate 0 after it)."""
    saved = checkpoint.get("hyper_parameters", {})
    changed = [f"--model.{key}={hparams.get(key)!r} where the checkpoint has {saved.get(key)!r}"
               for key in sorted(set(saved) | set(hparams)) if saved.get(key) != hparams.get(key)]
    more, recorded = _changes(ckpt, config, ("trainer", "data") if saved.get("schedule") in LENGTHWISE else ("data",))
    changed += more
    if changed:
        raise UsageError(f"dlref fit --ckpt_path expected the settings of the run it resumes, found "
                         f"{', and '.join(changed[:3])}{' …' if len(changed) > 3 else ''}; resume with that run's own "
                         f"settings (--config {recorded}), or start a new run without --ckpt_path.")


def check_split(ckpt: str, config) -> None:
    """Refuse to validate a run's checkpoint on another split than the run's: it would score training images."""
    changed, recorded = _changes(ckpt, config, ("data",))
    if changed:
        raise UsageError(f"dlref validate expected the data split of the run it evaluates, found "
                         f"{', and '.join(changed)} (another split puts that run's training images among the "
                         f"validation ones); leave out --config and the data options, and the run's own ({recorded}) "
                         "are used.")
