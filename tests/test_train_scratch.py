"""The plain slide loop's script: it runs `dlref fit`'s recipe in `dlref.train`, learns, and answers bad input
with one sentence."""

import csv
import re
import sys
from pathlib import Path

import pytest

from dlref.cli import main as dlref

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import train_scratch  # noqa: E402  (scripts/train_scratch.py)


def _run(capsys, *args) -> str:
    assert train_scratch.main(list(args)) == 0
    return capsys.readouterr().out


@pytest.mark.slow
def test_the_plain_loop_runs_the_same_recipe_as_dlref_fit(mnist_root, tmp_path, capsys):
    # Same config: same initial weights, same batches in the same order, same optimizer and schedule, so
    # the epochs validate the same. Only the loop differs.
    common = ["--trainer.max_epochs=2", "--data.limit=1500", "--data.val_size=300",
              "--model.network_kwargs={'hidden': 32}", f"--data.data_dir={mnist_root}"]
    out = _run(capsys, "--model", "fcn", *common)
    plain = [(float(loss), float(acc)) for loss, acc in re.findall(r"val loss ([\d.]+)  val accuracy ([\d.]+)%", out)]
    assert dlref(["fit", "--config", str(REPO / "configs" / "fcn.yaml"), *common, "--test_after_fit=false",
                  f"--trainer.default_root_dir={tmp_path}", "--trainer.enable_progress_bar=false"]) == 0
    rows = [r for r in csv.DictReader(open(tmp_path / "fcn" / "version_0" / "metrics.csv")) if r["val/acc"]]
    lightning = [(round(float(r["val/loss"]), 4), round(100 * float(r["val/acc"]), 2)) for r in rows]
    assert len(plain) == 2 and plain == lightning, (plain, lightning)
    assert plain[1][1] > 70 and "test accuracy" in out  # 1,200 images, 2 epochs: 76.33% measured; chance is 10%


def test_missing_data_exits_1_with_one_sentence(tmp_path, capsys):
    assert train_scratch.main([f"--data.data_dir={tmp_path}"]) == 1
    err = capsys.readouterr().err
    assert "train_scratch.py: error: MNIST files are missing" in err and "Traceback" not in err


@pytest.mark.parametrize("option,words", [("--model.lr=.nan", "expected a finite lr"),
                                          ("--model.lr=-1", "expected a finite lr >= 0"),  # dlref.SGD's own check
                                          ("--model.momentum=.nan", "finite momentum"),
                                          ("--data.limit=-5", "limit as an int >= 1"),
                                          ("--data.batch_size=0", "batch sizes >= 1"),
                                          # options its loop does not run: refused, not silently ignored
                                          ("--trainer.max_steps=1", "found --trainer.max_steps=1; leave it out"),
                                          ("--trainer.precision=bf16-mixed", "found --trainer.precision=bf16-mixed;"),
                                          ("--trainer.max_epochs=three", "expected --trainer.max_epochs to be an int")])
def test_bad_numbers_are_refused_at_the_door(option, words, tmp_path, capsys):
    assert train_scratch.main([option, f"--data.data_dir={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert "train_scratch.py: error:" in err and words in err and "Traceback" not in err


@pytest.mark.parametrize("option,words", [("--model.schedule=steps", "expected schedule in"),
                                          ("--model.gamma=0", "finite gamma > 0, found gamma=0"),
                                          ("--model.lr=0", "finite lr > 0, found lr=0")])  # dlref.SGD takes lr=0
def test_the_recipes_optimizer_and_schedule_are_checked_as_dlref_fit_checks_them(option, words, tmp_path, capsys):
    assert train_scratch.main([option, f"--data.data_dir={tmp_path}"]) == 2  # dlref.optimization.check
    err = capsys.readouterr().err
    assert "train_scratch.py: error:" in err and words in err and "Traceback" not in err


def test_a_diverging_plain_loop_stops_with_one_sentence(mnist_root, capsys):
    code = train_scratch.main(["--model", "fcn", "--trainer.max_epochs=3", "--data.limit=1000", "--data.val_size=100",
                               "--model.lr=1e30", f"--data.data_dir={mnist_root}"])
    captured = capsys.readouterr()
    assert code == 1 and "train_scratch.py: error: training diverged" in captured.err
    assert "(e.g. --model.lr=0.1)" in captured.err and "Traceback" not in captured.err
    assert "val accuracy" not in captured.out and "test accuracy" not in captured.out  # nothing evaluated


def test_a_parse_error_points_to_the_scripts_own_help(tmp_path, capsys):  # make train-scratch ARGS="--epochs 1"
    assert train_scratch.main(["--epochs", "1", f"--data.data_dir={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert "train_scratch.py: error: unrecognized arguments: --epochs 1" in err
    assert "(dlref calls it --trainer.max_epochs)" in err and "Traceback" not in err
    assert "(python scripts/train_scratch.py --help lists every option)" in err and "dlref fit --help" not in err
