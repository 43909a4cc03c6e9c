"""The plain slide loop's script: it trains, a cosine rate changes the run, and missing data is one sentence."""

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import train_scratch  # noqa: E402  (scripts/train_scratch.py)


def _run(capsys, *args) -> tuple[float, float]:
    assert train_scratch.main(list(args)) == 0
    out = capsys.readouterr().out
    accuracy, loss = re.search(r"test accuracy ([\d.]+)%  test loss ([\d.]+)", out).groups()
    return float(accuracy), float(loss)


def test_plain_loop_learns_and_the_cosine_schedule_changes_the_rate(mnist_root, capsys):
    common = ["--model", "fcn", "--epochs", "2", "--limit", "2000", "--data-dir", str(mnist_root)]
    constant = _run(capsys, *common, "--schedule", "none")
    cosine = _run(capsys, *common, "--schedule", "cosine")
    assert constant[0] > 75 and cosine[0] > 75  # 1,800 images, two epochs (measured 83–86%); chance is 10%
    assert cosine != constant  # epoch 2 ran at η/2, not η


def test_missing_data_exits_1_with_one_sentence(tmp_path, capsys):
    assert train_scratch.main(["--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "train_scratch.py: error: MNIST files are missing" in err and "Traceback" not in err


@pytest.mark.parametrize("option,value", [("--lr", "nan"), ("--lr", "inf"), ("--lr", "-1"), ("--momentum", "nan"),
                                          ("--epochs", "0"), ("--limit", "-5")])
def test_bad_numbers_are_refused_at_the_door(option, value, tmp_path, capsys):
    assert train_scratch.main([option, value, "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"argument {option}: expected a" in err and f"found {value}" in err and "Traceback" not in err


def test_a_diverging_plain_loop_stops_with_one_sentence_naming_its_own_option(mnist_root, capsys):
    code = train_scratch.main(["--model", "fcn", "--epochs", "3", "--limit", "1000", "--lr", "1e30",
                               "--data-dir", str(mnist_root)])
    captured = capsys.readouterr()
    assert code == 1 and "train_scratch.py: error: training diverged" in captured.err
    assert "(e.g. --lr 1e+29)" in captured.err and "Traceback" not in captured.err
    assert "val accuracy" not in captured.out and "test accuracy" not in captured.out  # nothing evaluated
