"""The Lightning path: same model as the plain loop, metrics as by hand, safe checkpoints, the CLI."""

import copy
import csv
import json
import re
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

import dlref
from dlref.cli import _cli, main
from dlref.data.batches import Batches
from dlref.lightning import Classifier, MNISTDataModule, TensorDataModule

CONFIGS = sorted((Path(__file__).resolve().parent.parent / "configs").glob("*.yaml"))
FCN_CONFIG = CONFIGS[0].parent / "fcn.yaml"


def _trainer(tmp_path, **kwargs):
    defaults = dict(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                    enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path)
    return pl.Trainer(**{**defaults, **kwargs})


def test_one_lightning_step_equals_one_step_of_the_plain_loop(mnist_subset, tmp_path):
    torch.manual_seed(0)
    lit = Classifier("fcn", {"hidden": 32, "dropout": 0.0}, lr=0.1, momentum=0.9)
    plain = copy.deepcopy(lit.model)
    dm = TensorDataModule(*mnist_subset, val_size=200, batch_size=64, seed=3)
    dm.setup("fit")
    first_batch = next(iter(Batches(dm.train_X, dm.train_t, 64, shuffle=True, seed=3)))
    dm = TensorDataModule(*mnist_subset, val_size=200, batch_size=64, seed=3)
    _trainer(tmp_path, max_steps=1, limit_val_batches=0).fit(lit, datamodule=dm)
    dlref.train(plain, [first_batch], dlref.cross_entropy, dlref.SGD(plain.parameters(), lr=0.1, momentum=0.9))
    for (name, a), b in zip(lit.model.named_parameters(), plain.parameters()):
        assert torch.equal(a, b), name
    torch.manual_seed(0)
    assert not torch.equal(plain[1].W, Classifier("fcn", {"hidden": 32}).model[1].W)  # it did move


def test_logged_epoch_accuracy_equals_accuracy_by_hand(mnist_subset, tmp_path):
    torch.manual_seed(0)
    lit = Classifier("fcn", {"hidden": 64}, lr=0.05)
    dm = TensorDataModule(*mnist_subset, val_size=200, batch_size=100)
    trainer = _trainer(tmp_path, max_epochs=1)
    trainer.fit(lit, datamodule=dm)
    by_hand = dlref.evaluate(lit.model, Batches(dm.val_X, dm.val_t, 37), dlref.cross_entropy)
    assert trainer.callback_metrics["val/acc"].item() == pytest.approx(by_hand["accuracy"], abs=1e-6)
    assert trainer.callback_metrics["val/loss"].item() == pytest.approx(by_hand["loss"], rel=1e-5)
    assert 0.5 < by_hand["accuracy"] < 1.0


def test_datamodule_split_sizes_dtypes_normalisation_and_no_overlap(mnist_root):
    dm = MNISTDataModule(data_dir=str(mnist_root))
    dm.setup("fit")
    assert dm.train_X.shape == (55000, 1, 28, 28) and dm.val_X.shape == (5000, 1, 28, 28)
    assert dm.train_X.dtype == torch.float32 and dm.train_t.dtype == torch.int64
    assert dm.test_X is None  # the test set is untouched until test
    X = torch.cat([dm.train_X, dm.val_X])
    assert abs(X.mean().item()) < 0.01 and abs(X.std().item() - 1) < 0.01
    train_rows = {hash(x.numpy().tobytes()) for x in dm.train_X[:, 0, 10:18, 10:18]}
    overlap = sum(hash(x.numpy().tobytes()) in train_rows for x in dm.val_X[:, 0, 10:18, 10:18])
    assert overlap < 50  # MNIST has a few near-duplicate digits; a leaked split would give thousands
    torch.manual_seed(999)
    again = MNISTDataModule(data_dir=str(mnist_root))
    again.setup("fit")
    assert torch.equal(again.val_t, dm.val_t)  # seeded split, independent of the global RNG
    assert torch.bincount(dm.val_t).min() >= 400  # stratified: every digit is there
    dm.setup("test")
    assert dm.test_X.shape == (10000, 1, 28, 28)
    # `make train ARGS=--data.limit=5000`: a twelfth validates, the rest trains
    small = MNISTDataModule(data_dir=str(mnist_root), limit=5000)
    small.setup("fit")
    assert (len(small.train_t), len(small.val_t)) == (4583, 417)


def test_the_validation_set_is_the_slides_split_of_the_training_images(mnist_subset):
    dm = TensorDataModule(*mnist_subset, val_size=200, seed=3)
    dm.setup("fit")
    X, t = mnist_subset.train_images, mnist_subset.train_labels
    (train_X, train_t), (val_X, val_t) = dlref.split((X, t), 0.9, seed=3)  # 1,800 of 2,000 for training
    assert torch.equal(dm.train_X, train_X) and torch.equal(dm.val_X, val_X) and torch.equal(dm.val_t, val_t)
    assert (len(dm.train_t), len(dm.val_t)) == (1800, 200)


def test_labels_a_reader_checked_are_not_checked_again(digits_root, monkeypatch):
    from dlref.lightning import datamodule

    calls, root = [], digits_root
    monkeypatch.setattr(datamodule, "check_labels", lambda *args: calls.append(args))
    MNISTDataModule(data_dir=str(root), val_size=10).setup("fit")
    assert calls == []  # load_mnist checked each label file (0..9): once per dataset
    MNISTDataModule(data_dir=str(root), val_size=10, num_classes=5).setup("fit")
    assert [args[1:] for args in calls] == [(5, "MNISTDataModule", "training")]  # fewer classes than digits: checked
    monkeypatch.undo()
    with pytest.raises(ValueError, match=r"expected integer training labels 0..4, found labels 0..9"):
        MNISTDataModule(data_dir=str(root), val_size=10, num_classes=5).setup("fit")


def test_only_the_training_loader_shuffles(mnist_subset):
    dm = TensorDataModule(*mnist_subset, val_size=200, batch_size=50)
    dm.setup("fit")
    assert dm.train_dataloader().shuffle and not dm.val_dataloader().shuffle
    first = torch.cat([t for _, t in dm.train_dataloader()])
    second = torch.cat([t for _, t in dm.train_dataloader()])
    assert not torch.equal(first, second) and torch.equal(first.sort().values, second.sort().values)


def test_checkpoint_loads_weights_only_and_gives_the_same_test_accuracy(mnist_subset, tmp_path):
    torch.manual_seed(0)
    lit = Classifier("fcn", {"hidden": 64})
    dm = TensorDataModule(*mnist_subset, val_size=200)
    trainer = _trainer(tmp_path, max_epochs=1, enable_checkpointing=True,
                       callbacks=[pl.callbacks.ModelCheckpoint(dirpath=tmp_path, filename="best")])
    trainer.fit(lit, datamodule=dm)
    before = trainer.test(lit, datamodule=dm, verbose=False)[0]["test/acc"]
    checkpoint = torch.load(tmp_path / "best.ckpt", weights_only=True)
    assert checkpoint["hyper_parameters"]["network"] == "fcn"
    restored = Classifier.load_from_checkpoint(tmp_path / "best.ckpt", weights_only=True)
    after = _trainer(tmp_path).test(restored, datamodule=dm, verbose=False)[0]["test/acc"]
    assert after == before and after > 0.5


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_every_config_parses_and_builds_its_model(config):
    cli = _cli(["--config", str(config), "--trainer.logger=false"], run=False)
    network = {"overfit": "fcn"}.get(config.stem, config.stem.split("_")[0])
    assert isinstance(cli.model, Classifier) and cli.model.hparams.network == network
    assert cli.model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_cli_usage_errors_exit_2_with_one_message(capsys):
    assert main(["fit", "--config", str(FCN_CONFIG), "--model.no_such_key=1"]) == 2
    assert "no_such_key" in capsys.readouterr().err
    assert main(["fit", "--config", str(FCN_CONFIG), "--model.lr=-1"]) == 2
    err = capsys.readouterr().err
    assert "lr > 0" in err and "Traceback" not in err
    assert main(["test", "--config", str(FCN_CONFIG), "--test_after_fit=false"]) == 2  # a fit-only option
    assert "test_after_fit" in capsys.readouterr().err


def test_cli_missing_data_exits_1_naming_the_files(tmp_path, capsys):
    code = main(["fit", "--config", str(FCN_CONFIG), f"--data.data_dir={tmp_path}", "--trainer.logger=false",
                 f"--trainer.default_root_dir={tmp_path}", "--checkpoint.dirpath", str(tmp_path / "ckpt")])
    err = capsys.readouterr().err
    assert code == 1 and "train-images-idx3-ubyte" in err and "dlref-download" in err and "Traceback" not in err


def test_cli_refuses_to_test_before_a_model_is_chosen(capsys):
    assert main(["test", "--config", str(FCN_CONFIG), "--trainer.logger=false"]) == 2
    err = capsys.readouterr().err
    assert "expected --ckpt_path" in err and "Traceback" not in err


@pytest.mark.slow
def test_fit_tests_the_best_checkpoint_once_and_a_second_test_warns(mnist_root, tmp_path, capsys):
    common = ["--config", str(FCN_CONFIG), f"--data.data_dir={mnist_root}", "--data.limit=3000", "--data.val_size=500",
              f"--trainer.default_root_dir={tmp_path}", "--trainer.enable_progress_bar=false",
              "--trainer.enable_model_summary=false", "--model.network_kwargs={'hidden': 64}"]
    assert main(["fit", *common, "--trainer.max_epochs=2"]) == 0
    out = capsys.readouterr().out
    results = tmp_path / "fcn" / "version_0" / "test_results.jsonl"
    first = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(first) == 1 and first[0]["ckpt_path"].endswith("best.ckpt") and first[0]["test/acc"] > 0.85
    assert f"best.ckpt: test accuracy {first[0]['test/acc']:.2%}" in out
    assert f"dlref: run folder {tmp_path / 'fcn' / 'version_0'}" in out  # and the figures drawn by default
    assert re.search(r"dlref: figures \S+learning_curves.png, \S+confusion_matrix.png", out)
    # One line per epoch, with that epoch's validation accuracy (as logged), and one for the whole fit.
    rows = list(csv.DictReader(open(tmp_path / "fcn" / "version_0" / "metrics.csv")))
    logged = [float(r["val/acc"]) for r in rows if r.get("val/acc")]
    printed = re.findall(r"dlref: epoch (\d)/2 val accuracy ([\d.]+)%", out)
    assert [int(e) for e, _ in printed] == [1, 2] and len(logged) == 2
    assert all(f"{acc:.2%}" == f"{value}%" for acc, (_, value) in zip(logged, printed))
    assert "dlref: fit ran 2 epochs in" in out
    assert main(["test", *common, "--ckpt_path", first[0]["ckpt_path"]]) == 0
    assert "already been used 1 time" in capsys.readouterr().err
    second = [json.loads(line) for line in results.read_text().splitlines()]
    assert second[0] == first[0] and second[1]["test/acc"] == first[0]["test/acc"]  # appended, same model


def test_onecycle_schedule_is_torchs_with_the_configured_warmup():
    from types import SimpleNamespace

    lit = Classifier("fcn", {"hidden": 8}, lr=0.1, schedule="onecycle", pct_start=0.2)
    lit._trainer = SimpleNamespace(estimated_stepping_batches=50, max_epochs=1)  # what configure_optimizers reads
    config = lit.configure_optimizers()
    ours = config["optimizer"].param_groups[0]
    twin = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    reference = torch.optim.lr_scheduler.OneCycleLR(twin, max_lr=0.1, total_steps=50, pct_start=0.2)
    rates = []
    for _ in range(49):
        assert ours["lr"] == twin.param_groups[0]["lr"]
        rates.append(ours["lr"])
        config["optimizer"].step(), config["lr_scheduler"]["scheduler"].step()
        twin.step(), reference.step()
    assert max(range(49), key=rates.__getitem__) == 9  # the peak after 20% of the 50 steps
    with pytest.raises(ValueError, match="pct_start"):
        Classifier("fcn", pct_start=1.5)
