"""Ctrl-C (SIGINT) and SIGTERM end every command with one sentence and the shell's code for the signal (130,
143), never a traceback. `dlref fit`'s graceful stop and resume are in tests/test_resume.py; these are the others."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _signal_when(command: list[str], line_starts: str, signum: int, cwd: Path) -> tuple[int, str]:
    """Run ``command``, send ``signum`` once a line of its output starts with ``line_starts``."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    output, deadline = [], time.monotonic() + 240
    for line in process.stdout:
        output.append(line)
        if line.startswith(line_starts):
            process.send_signal(signum)
            break
        assert time.monotonic() < deadline, "".join(output)
    output.append(process.stdout.read())
    return process.wait(timeout=120), "".join(output)


@pytest.mark.slow
def test_the_plain_loop_ends_with_143_on_sigterm(digits_root, tmp_path):
    # On the suite's small digits an epoch takes a blink: 1,000 of them leave the signal no way to arrive too late.
    code, out = _signal_when([sys.executable, str(REPO / "scripts" / "train_scratch.py"),
                              "--trainer.max_epochs=1000", f"--data.data_dir={digits_root}"], "epoch  1/1000",
                             signal.SIGTERM, tmp_path)
    assert code == 143 and "train_scratch.py: stopped by SIGTERM" in out and "Traceback" not in out


@pytest.mark.slow
def test_the_overfitting_study_ends_with_130_on_ctrl_c_and_leaves_no_partial_file(digits_root, tmp_path):
    overfit = Path(sys.executable).with_name("dlref-overfit")  # the installed console script
    code, out = _signal_when([str(overfit), "--trainer.max_epochs=400",
                              "--train-size", "200", "--data.val_size=100", "--variants", "overfitting",
                              f"--data.data_dir={digits_root}", "--out", str(tmp_path / "runs")],
                             "dlref-overfit:", signal.SIGINT, tmp_path)
    assert code == 130 and "dlref-overfit: stopped by Ctrl-C (SIGINT)" in out and "Traceback" not in out
    assert not list(tmp_path.rglob("*.png"))  # stopped before its figures: none half-written
    assert not list(tmp_path.rglob(".*part*"))


def test_the_overfitting_study_refuses_a_non_finite_rate(capsys):
    from dlref.cli import overfit

    assert overfit.main(["--model.lr=.nan"]) == 2
    err = capsys.readouterr().err
    assert "dlref-overfit: error:" in err and "finite lr > 0, found lr=nan" in err and "Traceback" not in err
