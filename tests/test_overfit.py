"""Overfitting and its remedies: L2 penalty ≡ weight decay; the overfitting command's curves, on the numbers."""

import json

import numpy as np
import pytest
import torch

import dlref
from dlref import networks
from dlref.cli import overfit

PNG = b"\x89PNG\r\n\x1a\n"


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _l2(model, lam):
    """The L2 penalty λ/2·‖W‖², summed over every parameter the optimizer decays (biases too)."""
    return lam / 2 * sum((p**2).sum() for p in model.parameters())


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_l2_penalty_in_the_loss_gives_the_same_update_as_weight_decay(momentum):
    # ∂/∂W (L + λ/2·‖W‖²) = ∂L/∂W + λ·W, which is what SGD(weight_decay=λ) adds to the gradient.
    torch.manual_seed(0)
    decayed = networks.fcn(in_features=20, hidden=16, classes=5, dropout=0.0).double()
    penalised = networks.fcn(in_features=20, hidden=16, classes=5, dropout=0.0).double()
    penalised.load_state_dict(decayed.state_dict())
    start = [p.detach().clone() for p in decayed.parameters()]
    lam, lr = 0.05, 0.1
    by_decay = dlref.SGD(decayed.parameters(), lr=lr, momentum=momentum, weight_decay=lam)
    by_penalty = dlref.SGD(penalised.parameters(), lr=lr, momentum=momentum)
    for _ in range(5):
        X, t = torch.randn(8, 20, dtype=torch.float64), torch.randint(0, 5, (8,))
        by_decay.update(decayed, dlref.cross_entropy(decayed(X), t))
        by_penalty.update(penalised, dlref.cross_entropy(penalised(X), t) + _l2(penalised, lam))
    for a, b, w in zip(decayed.parameters(), penalised.parameters(), start):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
        assert not torch.allclose(a, w)  # they did move
    # the factor ½ matters: a penalty λ·‖W‖² would decay twice as fast
    doubled = networks.fcn(in_features=20, hidden=16, classes=5, dropout=0.0).double()
    doubled.load_state_dict(dict(zip(decayed.state_dict(), start)))
    dlref.SGD(doubled.parameters(), lr=lr).update(doubled, dlref.cross_entropy(doubled(X), t) + 2 * _l2(doubled, lam))
    once = networks.fcn(in_features=20, hidden=16, classes=5, dropout=0.0).double()
    once.load_state_dict(dict(zip(decayed.state_dict(), start)))
    dlref.SGD(once.parameters(), lr=lr, weight_decay=lam).update(once, dlref.cross_entropy(once(X), t))
    assert not torch.allclose(doubled[1].W, once[1].W)


def test_overfitting_command_shows_validation_loss_rising_while_training_loss_falls(mnist_root, tmp_path, capsys):
    args = ["--variants", "overfitting", "early-stopping", "--train-size", "200", "--data.val_size=1000",
            "--trainer.max_epochs=30", "--model.network_kwargs={'hidden': 128, 'dropout': 0.0}",
            "--data.batch_size=16", "--patience", "3", f"--data.data_dir={mnist_root}", "--out", str(tmp_path)]
    assert overfit.main(args) == 0
    run_dir = tmp_path / "version_0"
    results = json.loads((run_dir / "history.json").read_text())
    h = results["overfitting"]["history"]
    val, train = np.array(h["val/loss"]), np.array(h["train/loss"])
    best = int(np.argmin(val))
    assert len(val) == 30 and 0 < best < 20  # a minimum, well before the end
    assert val[-1] > val[best] * 1.05 and val[-1] > val[best:].min() + 0.02  # then validation loss rises...
    assert train[-1] < train[best] * 0.5  # ...while training loss keeps falling
    assert np.all(np.diff(val[best:]) > -0.02)  # rising, not just noise around a plateau
    assert results["overfitting"]["summary"]["min_val_loss_epoch"] == best + 1
    stopped = results["early-stopping"]["history"]
    assert len(stopped["val/loss"]) == results["early-stopping"]["summary"]["min_val_loss_epoch"] + 3 < 30
    picture = (run_dir / "overfitting.png").read_bytes()
    assert picture.startswith(PNG) and len(picture) > 20_000
    assert (run_dir / "remedies.png").read_bytes().startswith(PNG)
    assert "lowest val loss" in capsys.readouterr().out


@pytest.mark.parametrize("args, words", [
    (["--patience", "0"], "--patience >= 1"),
    (["--dropout", "1.5"], "0 <= --dropout < 1"),
    (["--train-size", "70000"], "at most"),
])
def test_overfitting_command_usage_errors_exit_2_with_one_sentence(args, words, mnist_root, tmp_path, capsys):
    assert overfit.main([*args, f"--data.data_dir={mnist_root}", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and not (tmp_path / "version_0").exists()


def test_overfitting_command_help_and_missing_data(tmp_path, capsys):
    assert overfit.main(["--help"]) == 0
    assert "--weight-decay" in capsys.readouterr().out
    assert overfit.main([f"--data.data_dir={tmp_path}", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte" in err and "Traceback" not in err
