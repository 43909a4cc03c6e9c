"""A diverging run stops at the step where the loss stops being finite, says why, and saves nothing."""

from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

from dlref.cli import main
from dlref.divergence import DivergenceError
from dlref.lightning import Classifier, TensorDataModule
from dlref.lightning.checkpoints import LastCheckpoint

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
    assert code == 1 and "training diverged" in err and "at step" in err and "--model.lr=" in err
    assert "Traceback" not in err
    assert not list(tmp_path.glob("**/*.ckpt"))


class _Poison(pl.Callback):
    """Turns one weight NaN after the last batch of epoch 2, as an update with a finite loss can."""

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.current_epoch == 1 and batch_idx + 1 == trainer.num_training_batches:
            with torch.no_grad():
                next(pl_module.parameters()).view(-1)[0] = float("nan")


def test_weights_made_non_finite_by_the_last_update_are_never_validated_or_saved(mnist_subset, tmp_path):
    torch.manual_seed(0)
    lit = Classifier("fcn", {"hidden": 16}, lr=0.05)
    last = LastCheckpoint(dirpath=tmp_path / "ckpt")
    best = pl.callbacks.ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val/acc", mode="max", filename="best")
    trainer = pl.Trainer(max_epochs=3, callbacks=[_Poison(), best, last], logger=False, enable_progress_bar=False,
                         enable_model_summary=False, default_root_dir=tmp_path)
    with pytest.raises(DivergenceError, match="expected finite weights, found non-finite ones after step 36"):
        trainer.fit(lit, datamodule=_data(mnist_subset))
    assert trainer.current_epoch == 1 and all(torch.isfinite(p).all() for p in lit.parameters())  # put back
    for path in (tmp_path / "ckpt").iterdir():  # only epoch 1's files: finite, and no later one was written
        assert torch.load(path, weights_only=True)["epoch"] == 0, path.name


def test_cli_divergence_with_one_batch_an_epoch_never_tests_or_saves_non_finite_weights(mnist_root, tmp_path, capsys):
    code = main(["fit", "--config", str(FCN), f"--data.data_dir={mnist_root}", "--data.limit=200",
                 "--data.val_size=100", "--data.batch_size=100", "--model.lr=1e30", "--trainer.max_epochs=4",
                 f"--trainer.default_root_dir={tmp_path}", "--trainer.enable_progress_bar=false"])
    captured = capsys.readouterr()
    assert code == 1 and "training diverged" in captured.err and "Traceback" not in captured.err
    assert "test accuracy" not in captured.out and not list(tmp_path.rglob("test_results.jsonl"))
    for path in tmp_path.rglob("*.ckpt"):
        state = torch.load(path, weights_only=True)["state_dict"]
        assert all(torch.isfinite(v).all() for v in state.values()), path


@pytest.mark.parametrize("command,args,option", [
    ("dlref-overfit", ["--variants", "overfitting", "--trainer.max_epochs=2", "--train-size", "200",
                       "--data.val_size=100", "--model.lr=1e30"], "--model.lr="),
    ("dlref-kfold", ["--config", str(FCN), "--scheme", "holdout", "--limit", "400", "--trainer.max_epochs=2",
                     "--model.lr=1e30"], "--model.lr="),
])
def test_the_evaluation_commands_name_their_own_option(command, args, option, mnist_root, tmp_path, capsys):
    from dlref.cli import kfold as validate
    from dlref.cli import overfit

    entry = overfit if command == "dlref-overfit" else validate
    assert entry.main([*args, f"--data.data_dir={mnist_root}", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{command}: error: training diverged" in err and f"(e.g. {option}0.1)" in err and "Traceback" not in err
