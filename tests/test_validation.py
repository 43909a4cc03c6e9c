"""Cross-validation through Lightning: fresh model per fold, reproducible scores, the test set never read."""

import csv
import json
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

from dlref.cli import kfold as validate
from dlref.lightning import DigitsDataModule, TensorDataModule
from dlref.lightning.kfold import SplitDataModule, cross_validate, splits

ROOT = Path(__file__).resolve().parent.parent

DIGITS_FCN = {"network": "fcn", "network_kwargs": {"in_features": 64, "hidden": 16}, "lr": 0.05}
PNG = b"\x89PNG\r\n\x1a\n"


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


class NoTestSet:
    """Mixin: a datamodule whose test set cannot be read."""

    test_reads = 0

    def load(self, stage):
        if stage != "train":
            type(self).test_reads += 1
            raise AssertionError(f"the test set was read (load({stage!r}))")
        return super().load(stage)


class NoTestDigits(NoTestSet, DigitsDataModule):
    pass


class NoTestSubset(NoTestSet, TensorDataModule):
    """The conftest subset's 2,000 training images; asking for its test images fails."""


class Recorder(pl.Callback):
    """What each fold's model and optimizer look like when its training starts and ends."""

    def __init__(self, entries: list):
        self.entries = entries

    def on_train_start(self, trainer, pl_module):
        optimizer = trainer.optimizers[0]
        self.entries.append(dict(module=pl_module, optimizer=optimizer, state_at_start=len(optimizer.state),
                             start={k: v.detach().clone() for k, v in pl_module.state_dict().items()}))

    def on_train_end(self, trainer, pl_module):
        self.entries[-1]["end"] = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}
        self.entries[-1]["state_at_end"] = len(trainer.optimizers[0].state)


def test_each_fold_trains_a_fresh_model_with_a_fresh_optimizer():
    log = []
    result = cross_validate(NoTestDigits(), DIGITS_FCN, folds=3, max_epochs=1, callbacks=lambda k: [Recorder(log)])
    assert len(log) == 3 and len(result.accuracies) == 3
    for a, b in zip(log, log[1:]):
        assert a["module"] is not b["module"] and a["optimizer"] is not b["optimizer"]
        for name, p in a["module"].model.named_parameters():  # never the same storage
            assert p.data_ptr() != dict(b["module"].model.named_parameters())[name].data_ptr()
        for name in a["start"]:
            if name.startswith("model."):
                assert torch.equal(b["start"][name], a["start"][name]), name  # same seed: same initial weights
        # not where the previous fold ended: the next fold does not continue the previous one's training
        assert not torch.equal(b["start"]["model.layers.1.W"], a["end"]["model.layers.1.W"])
    assert all(entry["state_at_start"] == 0 and entry["state_at_end"] > 0 for entry in log)  # momentum buffers: new
    assert NoTestDigits.test_reads == 0


def test_same_seed_same_scores_other_seed_other_folds():
    run = lambda seed: cross_validate(DigitsDataModule(), DIGITS_FCN, folds=2, seed=seed, max_epochs=1).accuracies  # noqa: E731
    first = run(0)
    assert run(0) == first and run(1) != first


def test_kfold_on_real_mnist_learns_and_never_reads_the_test_set(mnist_subset):
    model = {"network": "fcn", "network_kwargs": {"hidden": 32}, "lr": 0.05}
    reported = []
    result = cross_validate(NoTestSubset(*mnist_subset, batch_size=64), model, folds=3, max_epochs=2,
                            report=lambda name, metrics: reported.append(name))
    assert reported == ["fold 1", "fold 2", "fold 3"] == result.names
    assert all(0.8 < acc < 1.0 for acc in result.accuracies), result.accuracies  # ~88% after 2 epochs
    assert result.mean == pytest.approx(sum(result.accuracies) / 3)
    assert 0 < result.std < 0.05 and "± " in str(result)
    assert all(len(h["val/acc"]) == 2 and h["train/loss"][1] < h["train/loss"][0] for h in result.histories)
    assert NoTestSubset.test_reads == 0


def test_split_datamodule_has_no_test_set():
    dm = SplitDataModule(torch.zeros(10, 1, 8, 8), torch.arange(10), torch.arange(8), torch.arange(8, 10))
    dm.setup("fit")
    assert dm.train_X.shape == (8, 1, 8, 8) and torch.equal(dm.val_t, torch.tensor([8, 9]))
    with pytest.raises(RuntimeError, match="never loads the test set"):
        dm.setup("test")


def test_schemes_name_their_splits_and_refuse_unknown_ones():
    t = torch.arange(60) % 3
    assert [name for name, _ in splits(t, "holdout")] == ["hold-out"]
    assert [name for name, _ in splits(t, "iterated", folds=2, repeats=2)] == [
        "repeat 1, fold 1", "repeat 1, fold 2", "repeat 2, fold 1", "repeat 2, fold 2"]
    with pytest.raises(ValueError, match="expected scheme in .*found 'loo'"):
        cross_validate(DigitsDataModule(), DIGITS_FCN, scheme="loo")


def test_validate_command_writes_scores_and_a_figure(mnist_root, tmp_path, capsys):
    args = ["--config", str(ROOT / "configs" / "fcn.yaml"), "--scheme", "kfold", "--folds", "2", "--limit", "400",
            f"--data.data_dir={mnist_root}", "--trainer.max_epochs=1", "--model.network_kwargs={hidden: 16}",
            "--out", str(tmp_path)]
    assert validate.main(args) == 0
    run_dir = tmp_path / "fcn" / "version_0"
    rows = list(csv.DictReader(open(run_dir / "folds.csv")))
    summary = json.loads((run_dir / "summary.json").read_text())
    assert [r["fold"] for r in rows] == ["fold 1", "fold 2"] and summary["folds"] == 2 and summary["limit"] == 400
    assert summary["mean_val_acc"] == pytest.approx(sum(float(r["val_acc"]) for r in rows) / 2)
    assert (run_dir / "fold_1" / "metrics.csv").is_file() and (run_dir / "fold_2" / "metrics.csv").is_file()
    picture = (run_dir / "cross_validation.png").read_bytes()
    assert picture.startswith(PNG) and len(picture) > 20_000
    assert "± " in capsys.readouterr().out


@pytest.mark.parametrize("args, words", [
    (["--folds", "1"], "folds >= 2"),
    (["--folds", "500", "--limit", "300", "--no-stratify"], "folds=500 for 300 examples"),
    (["--model.lr=-1"], "lr > 0"),
    (["--trainer.max_epochs=0"], "expected at least one epoch per fold, found max_epochs=0"),
    (["--scheme", "holdout", "--val-size", "0", "--limit", "300"], "holdout expected a validation size that leaves"),
    (["--trainer.max_epochs=three"], "expected --trainer.max_epochs to be int or None, found 'three'"),
])
def test_validate_command_usage_errors_exit_2_with_one_sentence(args, words, mnist_root, tmp_path, capsys):
    common = ["--config", str(ROOT / "configs" / "fcn.yaml"), f"--data.data_dir={mnist_root}", "--out", str(tmp_path)]
    assert validate.main(common + args) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not list(tmp_path.rglob("version_*"))  # the folder it claimed is gone again


def test_validate_command_help_and_missing_data(tmp_path, capsys):
    assert validate.main(["--help"]) == 0
    assert "--scheme" in capsys.readouterr().out
    code = validate.main(["--config", str(ROOT / "configs" / "fcn.yaml"), f"--data.data_dir={tmp_path}",
                          "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and "train-images-idx3-ubyte" in err and "Traceback" not in err


class _Settings(pl.Callback):
    """Records what a fit actually runs with: trainer, data and model settings."""

    def __init__(self):
        self.seen = []

    def on_fit_start(self, trainer, pl_module):
        dm = trainer.datamodule
        self.seen.append(dict(
            max_epochs=trainer.max_epochs, gradient_clip_val=trainer.gradient_clip_val,
            gradient_clip_algorithm=trainer.gradient_clip_algorithm, precision=trainer.precision,
            accumulate_grad_batches=trainer.accumulate_grad_batches, accelerator=type(trainer.accelerator).__name__,
            batch_size=dm.batch_size, eval_batch_size=dm.eval_batch_size, shift=dm.shift, seed=dm.seed,
            hparams=dict(pl_module.hparams)))


@pytest.mark.parametrize("config", sorted(p.name for p in (ROOT / "configs").glob("*.yaml")))
def test_every_fold_runs_exactly_the_recipe_dlref_fit_runs(config, mnist_root, tmp_path):
    from dlref.cli.recipe import recipe
    from dlref.lightning.kfold import fold_settings

    args = ["--config", str(ROOT / "configs" / config), f"--data.data_dir={mnist_root}", "--data.limit=300",
            "--data.val_size=60", "--trainer.max_epochs=1", "--trainer.limit_train_batches=1",
            f"--trainer.default_root_dir={tmp_path}", "--figures.enabled=false"]
    fit, folds = _Settings(), _Settings()
    cli = recipe(*args)
    cli.trainer.callbacks.append(fit)  # what `dlref fit` would run
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    model_kwargs, max_epochs, trainer_kwargs = fold_settings(recipe(*args))
    cross_validate(recipe(*args).datamodule, model_kwargs, "kfold", folds=2, max_epochs=max_epochs,
                   callbacks=lambda k: [folds], **trainer_kwargs)
    assert len(folds.seen) == 2 and folds.seen[0] == folds.seen[1] == fit.seen[0]


@pytest.mark.parametrize("config", sorted(p.name for p in (ROOT / "configs").glob("*.yaml")))
def test_a_recipe_reads_the_same_without_the_parser(config):
    # The device check runs where jsonargparse may be missing: there the YAML goes straight to the classes.
    from dlref.cli.recipe import YAMLRecipe, recipe

    args = ["--config", str(ROOT / "configs" / config), "--trainer.max_epochs=2", "--data.limit=500",
            "--model.network_kwargs={'hidden': 16}" if "lstm" not in config else "--data.shift=1"]
    parsed, plain = recipe(*args), YAMLRecipe(args)
    assert dict(plain.model.hparams) == dict(parsed.model.hparams)
    assert all(torch.equal(a, b) for a, b in zip(plain.model.parameters(), parsed.model.parameters()))  # same seed
    settings = ("batch_size", "eval_batch_size", "val_size", "seed", "limit", "shift", "num_classes", "dataset")
    assert {k: getattr(plain.datamodule, k) for k in settings} == {k: getattr(parsed.datamodule, k) for k in settings}
    assert plain.config.seed_everything == parsed.config.seed_everything
    different = {k for k, v in parsed.config.trainer.items() if k not in ("logger", "callbacks", "plugins")
                 and plain.config.trainer[k] != v}
    assert not different, {k: (plain.config.trainer[k], parsed.config.trainer[k]) for k in different}
    with pytest.raises(ValueError, match="expected options such as --trainer.max_epochs=3, found --nope"):
        YAMLRecipe([*args, "--nope=1"])
