"""Resume with nothing lost: a real `dlref fit` stopped at any point (SIGKILL mid-epoch or during validation,
Ctrl-C, SIGTERM) and resumed with --ckpt_path last ends with the weights, the optimizer state and the logged
validation metrics of an uninterrupted run (CPU, same seed), for every shipped config."""

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

TESTS = Path(__file__).resolve().parent
CONFIGS = TESTS.parent / "configs"
# Small versions of each config's network, so each run takes seconds; every other option is the config's
# own (schedules, Nesterov, Adam, gradient clipping, shifts, dropout).
SMALL = {"fcn": "{'hidden': 32}", "cnn": "{'channels': [4, 8], 'hidden': 16}", "lstm": "{'hidden': 16}"}


def _fit(config: str, root, out: Path, *extra, steps_per_epoch=6):
    network = "lstm" if "lstm" in config else "cnn" if "cnn" in config else "fcn"
    args = [sys.executable, "-m", "dlref.cli", "fit", "--config", str(CONFIGS / config),
            f"--data.data_dir={root}", f"--data.limit={steps_per_epoch * 100 + 100}", "--data.val_size=100",
            "--data.batch_size=100", "--trainer.max_epochs=3", "--trainer.enable_progress_bar=false",
            "--trainer.enable_model_summary=false", "--test_after_fit=false",
            f"--model.network_kwargs={SMALL[network]}", f"--trainer.default_root_dir={out}", *extra]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(args, cwd=out.parent, env=env, capture_output=True, text=True, timeout=300)


def _killed(config, root, out, points: str, *extra):
    """Run until each kill point has killed the run once, resuming with --ckpt_path last; the exit codes."""
    kill = ["--trainer.callbacks+=killer.Killer", f"--trainer.callbacks.points={points}",
            f"--trainer.callbacks.marker_dir={out.parent}"]
    codes = [_fit(config, root, out, *kill, *extra).returncode]
    while codes[-1] < 0 and len(codes) <= 4:
        codes.append(_fit(config, root, out, *kill, *extra, "--ckpt_path", "last").returncode)
    return codes


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
    assert a["global_step"] == b["global_step"] and a["epoch"] == b["epoch"]
    for name, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][name]), name
    for key, state in a["optimizer_states"][0]["state"].items():
        for slot, value in state.items():  # momentum buffers (SGD), exp_avg and exp_avg_sq (Adam)
            assert torch.equal(value, b["optimizer_states"][0]["state"][key][slot]), (key, slot)
    assert a["lr_schedulers"] == b["lr_schedulers"]
    assert val_a == val_b and len(val_a) == 12  # train and val, loss and accuracy, of every epoch


@pytest.mark.slow
@pytest.mark.parametrize("config", ["fcn.yaml", "cnn.yaml", "cnn_fast.yaml", "lstm.yaml"])
def test_a_run_killed_mid_epoch_resumes_exactly_from_the_epoch_end_checkpoint(config, mnist_root, tmp_path):
    straight = _fit(config, mnist_root, tmp_path / "straight")
    assert straight.returncode == 0, straight.stderr[-2000:]
    # Killed 3 steps into epoch 2: the only checkpoint is last.ckpt from the end of epoch 1, the default
    # resume point (no --last.every_n_steps).
    assert _killed(config, mnist_root, tmp_path / "killed", "step:9") == [-9, 0]
    _assert_same(tmp_path / "straight", tmp_path / "killed")


@pytest.mark.slow
def test_killed_runs_resume_from_step_and_validation_checkpoints(mnist_root, tmp_path):
    # Kill points: right after step 6 (resumes from step 4), during epoch 2's validation, and at step 15,
    # mid-epoch 3 (resumes from step 12). Dropout stays on: its draws come from the restored torch RNG.
    every = "--last.every_n_steps=4"
    assert _fit("fcn.yaml", mnist_root, tmp_path / "straight", every).returncode == 0
    assert _killed("fcn.yaml", mnist_root, tmp_path / "killed", "step:6,val:1,step:15", every) == [-9, -9, -9, 0]
    assert sorted(p.name for p in tmp_path.glob("killed-*")) == ["killed-step-15", "killed-step-6", "killed-val-1"]
    _assert_same(tmp_path / "straight", tmp_path / "killed")
    assert len(list((tmp_path / "killed").glob("fcn/version_*"))) == 4  # every interrupted run's logs kept


@pytest.mark.slow
@pytest.mark.parametrize("signal_name,code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_signal_stops_at_the_end_of_a_batch_saves_and_resumes_exactly(signal_name, code, mnist_root, tmp_path):
    assert _fit("cnn.yaml", mnist_root, tmp_path / "straight").returncode == 0
    signalled = _fit("cnn.yaml", mnist_root, tmp_path / "stopped", "--trainer.callbacks+=killer.Killer",
                     "--trainer.callbacks.points=step:8", f"--trainer.callbacks.marker_dir={tmp_path}",
                     f"--trainer.callbacks.signal={signal_name}")
    assert signalled.returncode == code, signalled.stderr[-2000:]
    stop = re.search(r"stopped by .* after step (\d+) \(epoch 2\); saved (\S+last.ckpt): resume with --ckpt_path last",
                     signalled.stderr)
    assert stop and "Traceback" not in signalled.stderr, signalled.stderr[-2000:]
    assert torch.load(stop[2], weights_only=True)["global_step"] == int(stop[1]) in (8, 9)  # that batch or the next
    assert not list((tmp_path / "stopped").rglob(".*part*"))  # no half-written file left behind
    resumed = _fit("cnn.yaml", mnist_root, tmp_path / "stopped", "--ckpt_path", "last")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    _assert_same(tmp_path / "straight", tmp_path / "stopped")


def test_resume_without_a_last_checkpoint_says_so(tmp_path, capsys):
    from dlref.cli import main

    code = main(["fit", "--config", str(CONFIGS / "fcn.yaml"), f"--trainer.default_root_dir={tmp_path}",
                 "--ckpt_path", "last"])
    assert code == 2 and "expected a last.ckpt" in capsys.readouterr().err
    assert not list(tmp_path.rglob("version_*"))  # a failed command leaves no empty run folder
