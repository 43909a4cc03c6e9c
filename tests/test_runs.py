"""Test once: the test set is used only by a trained model, each use is recorded next to the run it belongs to
before the result is shown, a run whose record cannot be written is not tested, and a re-test is announced."""

import csv
import errno
import json
import os
import re
import shutil
import threading
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

from dlref.cli import DlrefCLI, main, records
from dlref.cli.runs import claim_version

REPO = Path(__file__).resolve().parent.parent
FCN = REPO / "configs" / "fcn.yaml"


def _fit(root, out, *extra):
    """``dlref fit`` of the FCN recipe on ``digits_root`` (500 training images, 100 validating), in this process;
    without the run's figures, but for the test of their names."""
    return main(["fit", "--config", str(FCN), f"--data.data_dir={root}", "--data.limit=600", "--data.val_size=100",
                 "--trainer.max_epochs=1", "--trainer.enable_progress_bar=false",
                 "--trainer.enable_model_summary=false", "--figures.enabled=false",
                 "--model.network_kwargs={'hidden': 16}", f"--trainer.default_root_dir={out}", *extra])


def _records(folder: Path) -> list[dict]:
    path = folder / records.TEST_RESULTS
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_an_untrained_model_is_never_tested(digits_root, tmp_path, capsys):
    assert _fit(digits_root, tmp_path, "--trainer.max_epochs=0") == 2
    err = capsys.readouterr().err
    assert "expected at least one epoch" in err and "--trainer.max_epochs=1" in err and "Traceback" not in err
    assert not list(tmp_path.rglob(records.TEST_RESULTS)) and not list(tmp_path.rglob("version_*"))


@pytest.mark.parametrize("stop", [["--trainer.max_steps=3"], ["--trainer.limit_val_batches=0"],
                                  ["--trainer.fast_dev_run=true"]], ids=["max_steps", "no_validation", "fast_dev_run"])
def test_without_validation_no_model_is_chosen_and_the_test_set_is_not_used(stop, digits_root, tmp_path, capsys):
    assert _fit(digits_root, tmp_path, *stop) == 0
    captured = capsys.readouterr()
    assert "no model was chosen on validation (none ran, or no checkpoint was kept), so the test set was not used" \
        in captured.out
    assert "(training, no validation)" in captured.out or stop != ["--trainer.max_steps=3"]
    assert "monitored key" not in captured.err and "test accuracy" not in captured.out
    assert not list(tmp_path.rglob(records.TEST_RESULTS))
    assert all(any(folder.iterdir()) for folder in tmp_path.rglob("version_*"))  # fast_dev_run writes none: removed


def test_a_model_at_chance_is_not_tested(digits_root, tmp_path, capsys):
    # A rate far too high whose loss stays finite: the divergence guard has nothing to catch, the scores say it.
    assert _fit(digits_root, tmp_path, "--model.lr=100", "--model.schedule=none", "--model.momentum=0") == 0
    out = capsys.readouterr().out
    assert "about chance (10%): nothing was learned, so the test set was not used" in out
    assert not list(tmp_path.rglob(records.TEST_RESULTS))


def test_a_command_that_fails_at_the_data_leaves_no_run_folder(digits_root, tmp_path, capsys):
    # 10 images cannot be split into 5 for training and 5 for validation with every digit on both sides.
    assert _fit(digits_root, tmp_path, "--data.limit=10", "--data.val_size=5") == 2
    err = capsys.readouterr().err
    assert "holdout expected room for every one of the" in err and "least populated" not in err
    assert not list(tmp_path.rglob("version_*"))  # not even the empty event file TensorBoard's logger opened
    assert not (tmp_path / "fcn").exists()  # nor the network's folder this first run made


def test_fit_records_the_use_before_showing_it_and_a_resumed_finished_run_warns_and_counts(digits_root, tmp_path,
                                                                                            capsys):
    assert _fit(digits_root, tmp_path) == 0
    out = capsys.readouterr().out
    run = tmp_path / "fcn" / "version_0"
    [first] = _records(run)
    assert first["ckpt_path"].endswith("version_0/checkpoints/best.ckpt")
    assert f"test accuracy {first['test/acc']:.2%}" in out and "use 1 of this run's test set, recorded in" in out
    # Resuming the finished run (named: `last` passes over finished runs) trains nothing and tests the same best
    # checkpoint again: said, and counted in the run the checkpoint belongs to, not in the new log folder.
    assert _fit(digits_root, tmp_path, "--ckpt_path", str(run / "checkpoints" / "last.ckpt")) == 0
    captured = capsys.readouterr()
    assert "already been used 1 time(s)" in captured.err and "use 2 of this run's test set" in captured.out
    assert len(_records(run)) == 2 and not _records(tmp_path / "fcn" / "version_1")


def test_a_checkpoint_kept_outside_a_run_is_recorded_beside_it(digits_root, tmp_path, capsys):
    assert _fit(digits_root, tmp_path / "runs", "--test_after_fit=false") == 0
    mine = tmp_path / "project" / "model.ckpt"
    mine.parent.mkdir()
    shutil.copy(tmp_path / "runs" / "fcn" / "version_0" / "checkpoints" / "best.ckpt", mine)
    assert main(["test", "--config", str(FCN), f"--data.data_dir={digits_root}", "--ckpt_path", str(mine),
                 f"--trainer.default_root_dir={tmp_path / 'runs'}", "--trainer.enable_progress_bar=false"]) == 0
    assert len(_records(mine.parent)) == 1 and not (tmp_path / records.TEST_RESULTS).exists()


def test_a_run_whose_record_cannot_be_written_is_not_tested(digits_root, tmp_path, capsys):
    assert _fit(digits_root, tmp_path, "--test_after_fit=false") == 0
    run = tmp_path / "fcn" / "version_0"
    (run / records.TEST_RESULTS).mkdir()  # the record's name is taken: it cannot be appended to
    code = main(["test", "--config", str(FCN), f"--data.data_dir={digits_root}", "--trainer.enable_progress_bar=false",
                 "--ckpt_path", str(run / "checkpoints" / "best.ckpt"), f"--trainer.default_root_dir={tmp_path}"])
    captured = capsys.readouterr()
    assert code == 1 and "could not record the use of the test set" in captured.err
    assert "nothing was tested" in captured.err and "test accuracy" not in captured.out
    assert "Traceback" not in captured.err


def test_two_runs_never_claim_the_same_folder(tmp_path):
    (tmp_path / "version_3").mkdir()
    claimed, threads = [], [threading.Thread(target=lambda: claimed.append(claim_version(tmp_path))) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == list(range(4, 20))


def test_an_output_folder_that_is_a_file_is_one_sentence(tmp_path):
    (tmp_path / "runs").write_text("the user's file")
    with pytest.raises(ValueError, match="expected a writable output folder.*runs"):
        claim_version(tmp_path / "runs" / "fcn")
    assert (tmp_path / "runs").read_text() == "the user's file"


def test_a_runs_own_config_starts_a_new_run_and_leaves_the_old_one_as_it_was(digits_root, tmp_path, capsys):
    assert _fit(digits_root, tmp_path) == 0
    old = tmp_path / "fcn" / "version_0"
    before = {path: path.read_bytes() for path in old.rglob("*") if path.is_file()}
    # config.yaml names its logger's version_0: a fit from it must not log into (and clear) that folder.
    assert main(["fit", "--config", str(old / "config.yaml"), "--trainer.enable_progress_bar=false"]) == 0
    assert {path: path.read_bytes() for path in old.rglob("*") if path.is_file()} == before
    assert (tmp_path / "fcn" / "version_1" / "metrics.csv").is_file()


@pytest.mark.parametrize("change, words", [
    (["--trainer.max_epochs=2"], "found --trainer.max_epochs=2 where the run had 1"),  # cosine over 1 epoch: rate 0
    (["--model.optimizer=adam"], "found --model.optimizer='adam' where the checkpoint has 'sgd'"),
    (["--model.network_kwargs={'hidden': 32}"], "--model.network_kwargs={'hidden': 32} where the checkpoint has"),
    (["--data.batch_size=32"], "found --data.batch_size=32 where the run had"),
], ids=["epochs-under-a-schedule", "optimizer", "network", "batches"])
def test_a_resume_with_other_settings_is_refused(change, words, digits_root, tmp_path, capsys):
    assert _fit(digits_root, tmp_path) == 0
    capsys.readouterr()
    last = str(tmp_path / "fcn" / "version_0" / "checkpoints" / "last.ckpt")
    assert _fit(digits_root, tmp_path, "--ckpt_path", last, *change) == 2
    err = capsys.readouterr().err
    assert "expected the settings of the run it resumes, found " in err and words in err, err
    assert words in err and "Traceback" not in err and "; resume with that run's own settings (--config" in err
    assert len(_records(tmp_path / "fcn" / "version_0")) == 1  # the test set was not used again


def test_a_run_without_a_schedule_can_be_extended_by_resuming(digits_root, tmp_path, capsys):
    assert _fit(digits_root, tmp_path, "--model.schedule=none") == 0
    last = str(tmp_path / "fcn" / "version_0" / "checkpoints" / "last.ckpt")
    assert _fit(digits_root, tmp_path, "--model.schedule=none", "--ckpt_path", last, "--trainer.max_epochs=2") == 0
    assert "fit ran 1 epoch" in capsys.readouterr().out  # the second epoch, in this process


def test_a_later_test_numbers_its_figures_and_keeps_the_runs_own(digits_root, tmp_path, capsys):
    assert _fit(digits_root, tmp_path, "--figures.enabled=true") == 0
    run = tmp_path / "fcn" / "version_0"
    names = ("confusion_matrix", "misclassified", "representations")
    before = {name: (run / f"{name}.png").read_bytes() for name in names}
    assert main(["test", "--config", str(FCN), f"--data.data_dir={digits_root}", "--trainer.enable_progress_bar=false",
                 "--model.network_kwargs={'hidden': 16}", "--ckpt_path", str(run / "checkpoints" / "last.ckpt")]) == 0
    assert {name: (run / f"{name}.png").read_bytes() for name in names} == before
    assert all((run / f"{name}-2.png").is_file() for name in names)
    assert "representations-2.png" in capsys.readouterr().out


def test_validate_takes_the_runs_split_and_refuses_another(digits_root, tmp_path, capsys):
    assert _fit(digits_root, tmp_path, "--test_after_fit=false") == 0
    best = str(tmp_path / "fcn" / "version_0" / "checkpoints" / "best.ckpt")
    with open(tmp_path / "fcn" / "version_0" / "metrics.csv") as f:
        logged = max(float(row["val/acc"]) for row in csv.DictReader(f) if row["val/acc"])
    capsys.readouterr()
    run = {path: path.read_bytes() for path in (tmp_path / "fcn" / "version_0").rglob("*") if path.is_file()}
    # No --config: the run's own data settings (600 images, 100 for validation), so the run's own score.
    assert main(["validate", "--ckpt_path", best, f"--data.data_dir={digits_root}",
                 "--trainer.enable_progress_bar=false"]) == 0
    assert f"val accuracy {logged:.2%}" in capsys.readouterr().out
    # It prints its result and writes nothing, as docs/training.md says: the run folder is as the fit left it.
    assert {path: path.read_bytes() for path in (tmp_path / "fcn" / "version_0").rglob("*") if path.is_file()} == run
    assert "`dlref validate` prints its result and writes nothing" in (REPO / "docs" / "training.md").read_text()
    assert main(["validate", "--ckpt_path", best, f"--data.data_dir={digits_root}", "--data.seed=1"]) == 2
    err = capsys.readouterr().err
    assert "expected the data split of the run it evaluates, found --data.seed=1 where the run had 0" in err


# --- runs/ as the README names it, and failed fits ------------------------------------------------------------------


def _small(root, out, *extra) -> int:
    """``dlref fit`` of the FCN recipe on ``digits_root``: 300 training images (5 steps an epoch), 100 validating."""
    return main(["fit", "--config", str(FCN), f"--data.data_dir={root}", "--data.limit=400", "--data.val_size=100",
                 "--model.network_kwargs={'hidden': 16}", f"--trainer.default_root_dir={out}",
                 "--figures.enabled=false", *extra])


class Fail(pl.Callback):
    """Fails a fit as its second epoch starts, after the first epoch's checkpoints: ``disk`` as a full disk would,
    ``nan`` with weights made NaN, which the divergence guard catches."""

    def __init__(self, how: str = "disk"):
        self.how = how

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == 1 and self.how == "disk":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "last.ckpt")
        if trainer.current_epoch == 1 and self.how == "nan":
            with torch.no_grad():
                for W in pl_module.parameters():
                    W.fill_(float("nan"))


def test_last_resumes_the_newest_run_whose_fit_did_not_finish_and_says_why(digits_root, tmp_path, capsys,
                                                                             monkeypatch):
    root = digits_root
    monkeypatch.chdir(tmp_path)  # runs/ here, named as the README names them
    stop = ["--trainer.callbacks+=killer.Killer", "--trainer.callbacks.points=step:7",
            f"--trainer.callbacks.marker_dir={tmp_path}", "--trainer.callbacks.signal=SIGINT"]
    assert _small(root, "runs", "--trainer.max_epochs=3", *stop) == 130  # stopped in epoch 2: version_0
    assert _small(root, "runs", "--trainer.max_epochs=1") == 0  # a newer run, finished: version_1
    capsys.readouterr()
    assert _small(root, "runs", "--trainer.max_epochs=3", "--ckpt_path", "last") == 0
    said = ("dlref: resuming runs/fcn/version_0/checkpoints/last.ckpt: the newest fcn run whose fit did not finish "
            "(stopped, killed or crashed); the newer version_1 finished")
    assert said in capsys.readouterr().err
    assert said in (REPO / "docs" / "reliability.md").read_text()  # the Reliability page quotes it as printed
    assert (tmp_path / "runs" / "fcn" / "version_2" / records.FIT_FINISHED).is_file()
    # version_2 went on from version_0 and finished: nothing is left to resume. Its cosine schedule is laid out over
    # its length, so the sentence does not offer to extend it.
    assert _small(root, "runs", "--trainer.max_epochs=3", "--ckpt_path", "last") == 2
    err = capsys.readouterr().err
    assert ("found only finished ones (version_1, version_2); start a new run without --ckpt_path (the newest, "
            "version_2, has a cosine schedule laid out over its length: it cannot be extended).") in err
    assert not (tmp_path / "runs" / "fcn" / "version_3").exists()
    # A finished run without a schedule can be extended, and the sentence says how.
    assert _small(root, "runs", "--trainer.max_epochs=1", "--model.schedule=none") == 0  # version_3
    capsys.readouterr()
    assert _small(root, "runs", "--trainer.max_epochs=3", "--model.schedule=none", "--ckpt_path", "last") == 2
    assert ("found only finished ones (version_1, version_2, version_3); start a new run without --ckpt_path, or "
            "extend one without a schedule by passing its checkpoint and more epochs, e.g. --ckpt_path "
            "runs/fcn/version_3/checkpoints/last.ckpt --trainer.max_epochs=40.") in capsys.readouterr().err


def test_a_fit_that_fails_or_diverges_leaves_no_run_folder_and_the_next_takes_its_number(digits_root, tmp_path,
                                                                                         capsys):
    root, out = digits_root, tmp_path / "runs"
    for _ in range(2):  # the two diverged runs
        assert _small(root, out, "--trainer.max_epochs=2", "--model.lr=1e30") == 1
    assert "training diverged" in capsys.readouterr().err and not out.exists()
    # A divergence after the first epoch's checkpoints: a resume would diverge again at the same step, so it goes too.
    assert _small(root, out, "--trainer.max_epochs=3", "--trainer.callbacks+=test_runs.Fail",
                  "--trainer.callbacks.how=nan") == 1
    assert "training diverged" in capsys.readouterr().err and not out.exists()
    assert _small(root, out, "--trainer.max_epochs=1") == 0
    assert [p.name for p in (out / "fcn").iterdir()] == ["version_0"]


def test_a_fit_that_crashes_after_a_checkpoint_keeps_it_and_last_resumes_it(digits_root, tmp_path, capsys):
    root, out = digits_root, tmp_path / "runs"
    assert _small(root, out, "--trainer.max_epochs=3", "--trainer.callbacks+=test_runs.Fail") == 1  # disk full
    run = out / "fcn" / "version_0"
    assert "No space left on device" in capsys.readouterr().err
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
    assert not (run / records.FIT_FINISHED).exists()
    assert _small(root, out, "--trainer.max_epochs=3", "--ckpt_path", "last") == 0
    assert f"dlref: resuming {run / 'checkpoints' / 'last.ckpt'}: the newest fcn run" in capsys.readouterr().err


def test_a_log_gets_a_line_per_epoch_and_a_bar_counts_from_epoch_1_without_cursor_codes(digits_root, tmp_path,
                                                                                         capsys):
    root = digits_root
    assert _small(root, tmp_path / "a", "--trainer.max_epochs=2") == 0  # pytest's stdout is not a terminal
    out = capsys.readouterr().out
    assert "dlref: epoch 1/2 val accuracy" in out and "dlref: epoch 2/2 val accuracy" in out
    assert "\x1b[" not in out and "it/s" not in out  # no bar and no cursor movement in a log
    assert _small(root, tmp_path / "b", "--trainer.max_epochs=2", "--trainer.enable_progress_bar=true") == 0
    out = capsys.readouterr().out
    assert "Epoch 1/2: 100%" in out and "Epoch 2/2: 100%" in out
    assert not re.search(r"Epoch \d+:", out) and "\x1b[" not in out  # never "Epoch 0:", no ESC[A from a second bar


def test_dlref_help_lists_every_subcommand_demo_too(capsys):
    assert main(["--help"]) == 0
    listed = re.findall(r"^  (\w+) +\S", capsys.readouterr().out, re.M)
    assert listed == ["fit", "validate", "test", "predict", "demo"]
    assert set(listed) == {*DlrefCLI.subcommands(), "demo"}  # a subcommand LightningCLI adds must be listed
