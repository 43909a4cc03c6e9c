"""No host read per training step: the loss, the divergence guard and the labels' range stay on the device
between checks, so a GPU never waits for the host at every step. Counted on the CPU: the number of values read
back (``.item()``, ``int()``, ``float()``, ``bool()``, ``.tolist()``) by 10 steps and by 20 steps is the same."""

import lightning.pytorch as pl
import pytest
import torch

import dlref
from dlref.lightning import Classifier, TensorDataModule

READS = ("item", "__int__", "__float__", "__bool__", "__index__", "tolist")


@pytest.fixture
def reads(monkeypatch):
    """A counter of values read back from tensors while it is active."""
    count = [0]
    for name in READS:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, **kwargs):
            count[0] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    return count


def _data(steps: int):
    g = torch.Generator().manual_seed(0)
    return torch.randn(steps * 20, 1, 28, 28, generator=g), torch.randint(0, 10, (steps * 20,), generator=g)


def _lightning_reads(steps: int, reads) -> int:
    X, t = _data(steps)
    dm = TensorDataModule(X, t, val_size=20, batch_size=20)
    dm.setup("fit")  # the labels' range is checked here, once
    trainer = pl.Trainer(max_epochs=1, logger=False, enable_progress_bar=False, enable_model_summary=False,
                         enable_checkpointing=False, num_sanity_val_steps=0, limit_val_batches=0)
    model = Classifier("fcn", {"hidden": 16}, num_classes=10)
    before = reads[0]
    trainer.fit(model, datamodule=dm)
    return reads[0] - before


def _plain_reads(steps: int, reads) -> int:
    X, t = _data(steps)
    model = dlref.networks.fcn(hidden=16)
    data = list(zip(X.split(20), t.split(20)))
    before = reads[0]
    dlref.train(model, data, dlref.cross_entropy, dlref.SGD(model.parameters(), lr=0.05))
    return reads[0] - before


def test_a_lightning_training_step_reads_nothing_back(reads):
    torch.manual_seed(0)
    assert _lightning_reads(11, reads) == _lightning_reads(21, reads)  # 10 and 20 steps (one batch is held out)


def test_a_plain_loop_step_reads_nothing_back(reads):
    torch.manual_seed(0)
    ten, twenty = _plain_reads(10, reads), _plain_reads(20, reads)
    assert ten == twenty and ten > 0  # the reads of the epoch's end and the first batch's labels, not per step


def test_labels_out_of_range_are_still_one_sentence_where_a_learner_calls_the_loss():
    with pytest.raises(ValueError, match=r"expected class indices in 0..9, found values from 0 to 10"):
        dlref.cross_entropy(torch.zeros(3, 10), torch.tensor([0, 3, 10]))
    with pytest.raises(ValueError, match=r"expected class indices in 0..9, found values from 1 to 10"):
        model = dlref.networks.fcn(hidden=8)
        dlref.train(model, [(torch.zeros(2, 784), torch.tensor([1, 10]))], dlref.cross_entropy,
                    dlref.SGD(model.parameters(), lr=0.1))  # the first batch's labels are read, once
    with pytest.raises(ValueError, match=r"expected integer training labels 0..9, found labels 0..10"):
        TensorDataModule(torch.zeros(30, 1, 28, 28), torch.arange(30) % 11, val_size=5).setup("fit")
