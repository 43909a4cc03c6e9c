"""Resume with nothing lost: a real `dlref fit` stopped at any point (SIGKILL mid-epoch or during validation,
Ctrl-C, SIGTERM) and resumed with --ckpt_path last ends with the weights, the optimizer state and the logged
validation metrics of an uninterrupted run (CPU, same seed), for every shipped config.

Each run is the smallest that still crosses epoch ends, validations and checkpoints: 3 epochs of 6 steps on the
suite's own small digits (``digits_root``). The run that is stopped is a real process (a SIGKILL leaves no
Python to clean up, and Ctrl-C and SIGTERM end it with the shell's codes); the uninterrupted reference of each
config is computed once for the module, and the resume that finishes runs in this process, as
tests/test_runs.py's fits do. Every run is on one thread, so that each ordering of the arithmetic is the same.
"""

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dlref.cli import main

TESTS = Path(__file__).resolve().parent
CONFIGS = TESTS.parent / "configs"
# Small versions of each config's network, so each run takes seconds; every other option is the config's
# own (schedules, Nesterov, Adam, gradient clipping, shifts, dropout).
SMALL = {"fcn": "{'hidden': 32}", "cnn": "{'channels': [4, 8], 'hidden': 16}", "lstm": "{'hidden': 16}"}
STEPS, BATCH, VAL = 6, 50, 100  # steps per epoch, images per step, validation images


def _args(config: str, root, out: Path, *extra) -> list[str]:
    network = "lstm" if "lstm" in config else "cnn" if "cnn" in config else "fcn"
    return ["fit", "--config", str(CONFIGS / config), f"--data.data_dir={root}",
            f"--data.limit={STEPS * BATCH + VAL}", f"--data.val_size={VAL}", f"--data.batch_size={BATCH}",
            "--trainer.max_epochs=3", "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false",
            "--test_after_fit=false", f"--model.network_kwargs={SMALL[network]}",
            f"--trainer.default_root_dir={out}", *extra]


def _process(config: str, root, out: Path, *extra) -> subprocess.CompletedProcess:
    """``python -m dlref.cli fit …`` as its own process, on one thread; tests/ importable for ``killer.Killer``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "dlref.cli", *_args(config, root, out, *extra)], cwd=out.parent,
                          env=env, capture_output=True, text=True, timeout=300)


def _here(config: str, root, out: Path, *extra) -> int:
    """The same ``dlref fit`` in this process (``dlref.cli.main``), on one thread; its exit code."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return main(_args(config, root, out, *extra))
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module")
def straight(digits_root, tmp_path_factory):
    """``straight(config)``: the folder of the config's uninterrupted run, run once for the module."""
    done = {}

    def run(config: str) -> Path:
        if config not in done:
            out = tmp_path_factory.mktemp(f"straight-{config.split('.')[0]}") / "runs"
            assert _here(config, digits_root, out) == 0
            done[config] = out
        return done[config]

    return run


def _killed(config, root, out, points: str, *extra):
    """The exit codes of a run killed once at each kill point, resumed each time with --ckpt_path last: a process
    for each point (each is killed there), then the resume that finishes, in this process."""
    kill = ["--trainer.callbacks+=killer.Killer", f"--trainer.callbacks.points={points}",
            f"--trainer.callbacks.marker_dir={out.parent}"]
    codes = [_process(config, root, out, *kill, *extra).returncode]
    for _ in points.split(",")[1:]:
        codes.append(_process(config, root, out, *kill, *extra, "--ckpt_path", "last").returncode)
    return [*codes, _here(config, root, out, *kill, *extra, "--ckpt_path", "last")]


def _state(out: Path):
    network = next(out.iterdir()).name
    runs = sorted(out.glob(f"{network}/version_*"), key=lambda p: int(p.name[8:]))
    last = torch.load(runs[-1] / "checkpoints" / "last.ckpt", weights_only=True)
    logged = {}  # (epoch, metric) -> value, from every run folder's log: the resumed ones continue it
    for run in runs:  # a run killed before its first epoch's end has logged nothing yet
        for row in csv.DictReader(open(run / "metrics.csv")) if (run / "metrics.csv").exists() else []:
            logged.update({(int(row["epoch"]), k): v for k, v in row.items() if "/" in k and v})
    return last, logged


def _assert_same(a_out: Path, b_out: Path):
    (a, val_a), (b, val_b) = _state(a_out), _state(b_out)
    assert a["global_step"] == b["global_step"] == 3 * STEPS and a["epoch"] == b["epoch"]
    for name, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][name]), name
    for key, state in a["optimizer_states"][0]["state"].items():
        for slot, value in state.items():  # momentum buffers (SGD), exp_avg and exp_avg_sq (Adam)
            assert torch.equal(value, b["optimizer_states"][0]["state"][key][slot]), (key, slot)
    assert a["lr_schedulers"] == b["lr_schedulers"]
    assert val_a == val_b and len(val_a) == 12  # train and val, loss and accuracy, of every epoch


@pytest.mark.slow
@pytest.mark.parametrize("config", ["fcn.yaml", "cnn.yaml", "cnn_fast.yaml", "lstm.yaml"])
def test_a_run_killed_mid_epoch_resumes_exactly_from_the_epoch_end_checkpoint(config, straight, digits_root,
                                                                               tmp_path):
    # Killed 3 steps into epoch 2: the only checkpoint is last.ckpt from the end of epoch 1, the default
    # resume point (no --last.every_n_steps).
    assert _killed(config, digits_root, tmp_path / "killed", "step:9") == [-9, 0]
    _assert_same(straight(config), tmp_path / "killed")


@pytest.mark.slow
def test_killed_runs_resume_from_step_and_validation_checkpoints(straight, digits_root, tmp_path):
    # Kill points: right after step 6 (resumes from step 4), during epoch 2's validation, and at step 15,
    # mid-epoch 3 (resumes from step 12). Dropout stays on: its draws come from the restored torch RNG. The
    # reference is the run without --last.every_n_steps: the checkpoints every 4 steps change nothing either.
    every = "--last.every_n_steps=4"
    assert _killed("fcn.yaml", digits_root, tmp_path / "killed", "step:6,val:1,step:15", every) == [-9, -9, -9, 0]
    assert sorted(p.name for p in tmp_path.glob("killed-*")) == ["killed-step-15", "killed-step-6", "killed-val-1"]
    _assert_same(straight("fcn.yaml"), tmp_path / "killed")
    assert len(list((tmp_path / "killed").glob("fcn/version_*"))) == 4  # every interrupted run's logs kept


@pytest.mark.slow
@pytest.mark.parametrize("signal_name,code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_signal_stops_at_the_end_of_a_batch_saves_and_resumes_exactly(signal_name, code, straight, digits_root,
                                                                        tmp_path):
    signalled = _process("cnn.yaml", digits_root, tmp_path / "stopped", "--trainer.callbacks+=killer.Killer",
                         "--trainer.callbacks.points=step:8", f"--trainer.callbacks.marker_dir={tmp_path}",
                         f"--trainer.callbacks.signal={signal_name}")
    assert signalled.returncode == code, signalled.stderr[-2000:]
    stop = re.search(r"stopped by .* after step (\d+) \(epoch 2\); saved (\S+last.ckpt): resume with --ckpt_path last",
                     signalled.stderr)
    assert stop and "Traceback" not in signalled.stderr, signalled.stderr[-2000:]
    assert torch.load(stop[2], weights_only=True)["global_step"] == int(stop[1]) in (8, 9)  # that batch or the next
    assert not list((tmp_path / "stopped").rglob(".*part*"))  # no half-written file left behind
    assert _here("cnn.yaml", digits_root, tmp_path / "stopped", "--ckpt_path", "last") == 0
    _assert_same(straight("cnn.yaml"), tmp_path / "stopped")


def test_resume_without_a_last_checkpoint_says_so(tmp_path, capsys):
    code = main(["fit", "--config", str(CONFIGS / "fcn.yaml"), f"--trainer.default_root_dir={tmp_path}",
                 "--ckpt_path", "last"])
    assert code == 2 and "expected a last.ckpt" in capsys.readouterr().err
    assert not list(tmp_path.rglob("version_*"))  # a failed command leaves no empty run folder
