"""A diverging run stops at the step where the loss stops being finite, says why, and saves nothing."""

from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

from dlref.divergence import DivergenceError
from dlref.lightning import Classifier, TensorDataModule
from dlref.lightning.cli import main

FCN = Path(__file__).resolve().parent.parent / "configs" / "fcn.yaml"


def _data(subset):
    return TensorDataModule(*subset, val_size=200, batch_size=100)


def test_divergence_stops_before_the_update_and_keeps_the_best_checkpoint(mnist_subset, tmp_path):
    torch.manual_seed(0)
    lit = Classifier("fcn", {"hidden": 32}, lr=0.05)
    common = dict(logger=False, enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path)
    best = pl.callbacks.ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val/acc", mode="max", filename="best")
    pl.Trainer(max_epochs=1, callbacks=[best], **common).fit(lit, datamodule=_data(mnist_subset))
    saved = (tmp_path / "ckpt" / "best.ckpt").read_bytes()

    lit.hparams.lr = 1e6  # the same model, now with a learning rate that explodes
    again = pl.callbacks.ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val/acc", mode="max", filename="best")
    trainer = pl.Trainer(max_epochs=3, callbacks=[again], **common)
    with pytest.raises(DivergenceError, match=r"diverged .*non-finite one at step \d+.*learning rate 1e\+06"):
        trainer.fit(lit, datamodule=_data(mnist_subset))
    assert all(torch.isfinite(p).all() for p in lit.parameters())  # the bad update was never taken
    assert (tmp_path / "ckpt" / "best.ckpt").read_bytes() == saved
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["best.ckpt"]


def test_cli_divergence_exits_1_naming_the_step(mnist_root, tmp_path, capsys):
    code = main(["fit", "--config", str(FCN), f"--data.data_dir={mnist_root}", "--data.limit=1000",
                 "--data.val_size=100", "--model.lr=1e6", f"--trainer.default_root_dir={tmp_path}",
                 "--trainer.enable_progress_bar=false", "--trainer.max_epochs=2"])
    err = capsys.readouterr().err
    assert code == 1 and "training diverged" in err and "at step" in err and "--model.lr=" in err and "Traceback" not in err
    assert not list(tmp_path.glob("**/*.ckpt"))
