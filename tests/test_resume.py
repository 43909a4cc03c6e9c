"""Resume with nothing lost: a real `dlref fit` SIGKILLed at several points, resumed with --ckpt_path last,
ends with weights and optimizer state bit-identical to an uninterrupted run (CPU, same seed)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

TESTS = Path(__file__).resolve().parent
FCN = TESTS.parent / "configs" / "fcn.yaml"
# 1,800 training images in batches of 100: 18 steps an epoch, 3 epochs; last.ckpt every 4 steps.
# Kill points: right after step 6 (resumes from step 4), during epoch 1's validation, and at step 27,
# mid-epoch 1 (resumes from step 24). Dropout stays on: its draws come from the restored torch RNG.
KILLS = "step:6,step:27,val:1"


def _fit(root, tmp_path, *extra):
    args = [sys.executable, "-m", "dlref.lightning.cli", "fit", "--config", str(FCN), f"--data.data_dir={root}",
            "--data.limit=2000", "--data.val_size=200", "--data.batch_size=100", "--trainer.max_epochs=3",
            "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false", "--last.every_n_steps=4",
            "--test_after_fit=false", "--model.network_kwargs={'hidden': 32}", *extra]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def _final(runs: Path) -> dict:
    newest = max(runs.glob("fcn/version_*/checkpoints/last.ckpt"), key=lambda p: int(p.parent.parent.name[8:]))
    return torch.load(newest, weights_only=True)


@pytest.mark.slow
def test_killed_runs_resume_to_bit_identical_weights(mnist_root, tmp_path):
    straight = _fit(mnist_root, tmp_path, f"--trainer.default_root_dir={tmp_path / 'straight'}")
    assert straight.returncode == 0, straight.stderr[-2000:]

    killed = [f"--trainer.default_root_dir={tmp_path / 'killed'}", "--trainer.callbacks+=killer.Killer",
              f"--trainer.callbacks.points={KILLS}", f"--trainer.callbacks.marker_dir={tmp_path}"]
    codes = [_fit(mnist_root, tmp_path, *killed).returncode]
    while codes[-1] == -9 and len(codes) <= 3:
        codes.append(_fit(mnist_root, tmp_path, *killed, "--ckpt_path", "last").returncode)
    assert codes == [-9, -9, -9, 0]  # SIGKILLed at each point, then the last resume finishes
    assert sorted(p.name for p in tmp_path.glob("killed-*")) == ["killed-step-27", "killed-step-6", "killed-val-1"]

    a, b = _final(tmp_path / "straight"), _final(tmp_path / "killed")
    assert a["global_step"] == b["global_step"] == 54
    for name, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][name]), name
    for key, state in a["optimizer_states"][0]["state"].items():
        assert torch.equal(state["momentum_buffer"], b["optimizer_states"][0]["state"][key]["momentum_buffer"])
    assert len(list((tmp_path / "killed").glob("fcn/version_*"))) == 4  # every interrupted run's logs kept


def test_resume_without_a_last_checkpoint_says_so(tmp_path):
    from dlref.lightning.cli import main

    code = main(["fit", "--config", str(FCN), f"--trainer.default_root_dir={tmp_path}", "--ckpt_path", "last"])
    assert code == 2
