"""dlref.load: a checkpoint back into the network that wrote it, with torch alone, as Lightning would load it."""

import os
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

import dlref
from dlref.lightning import Classifier, TensorDataModule


def checkpoint(tmp_path: Path, network: str = "cnn", **kwargs) -> Path:
    """A real checkpoint: one Lightning step on random images, saved by the Trainer."""
    torch.manual_seed(0)
    data = TensorDataModule(torch.randn(40, 1, 28, 28), torch.arange(40) % 10, val_size=10, batch_size=8)
    trainer = pl.Trainer(max_steps=1, logger=False, enable_progress_bar=False, enable_model_summary=False,
                         limit_val_batches=0, enable_checkpointing=False, default_root_dir=tmp_path)
    trainer.fit(Classifier(network, kwargs), datamodule=data)
    path = tmp_path / f"{network}.ckpt"
    trainer.save_checkpoint(path)
    return path


@pytest.mark.parametrize("network,kwargs", [("fcn", {"hidden": 16}), ("cnn", {"hidden": 16}), ("lstm", {"hidden": 8})])
def test_load_gives_the_network_lightning_loads_in_eval_mode_on_the_cpu(network, kwargs, tmp_path):
    path = checkpoint(tmp_path, network, **kwargs)
    model = dlref.load(path)
    twin = Classifier.load_from_checkpoint(path, map_location="cpu", weights_only=True).eval()
    assert isinstance(model, dlref.Model) and not model.training
    assert all(p.device.type == "cpu" for p in model.parameters())
    X = torch.randn(5, 1, 28, 28)
    assert torch.equal(model.predict(X), twin(X))  # logits (5, 10), dropout off in both
    assert model.predict(X).shape == (5, 10)
    assert not model.predict(X).requires_grad  # frozen for predicting: .numpy() works without torch.no_grad


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


BAD = [
    ("no file", lambda p: p / "nope.ckpt", FileNotFoundError, r"expected a checkpoint file, found no file at"),
    ("empty file", lambda p: write(p / "e.ckpt", b""), ValueError, r"could not read .*e.ckpt"),
    ("random bytes", lambda p: write(p / "r.ckpt", bytes(range(256)) * 8), ValueError,
     r"could not read .*r.ckpt: expected a torch checkpoint"),
    ("a list", lambda p: torch.save([1, 2], p / "l.ckpt") or p / "l.ckpt", ValueError,
     r"expected a dlref checkpoint .* found list"),
    ("an unknown network", lambda p: torch.save({"state_dict": {}, "hyper_parameters": {"network": "gpt"}},
                                                p / "g.ckpt") or p / "g.ckpt", ValueError, "naming one of"),
    ("a text file", lambda p: write(p / "t.ckpt", b"hello, I am text\n"), ValueError,  # torch: KeyError 101
     r"could not read .*t.ckpt: expected a complete torch checkpoint"),
    ("network_kwargs a list", lambda p: torch.save({"state_dict": {}, "hyper_parameters": {
        "network": "fcn", "network_kwargs": [1]}}, p / "k.ckpt") or p / "k.ckpt", ValueError, "naming one of"),
    ("None for a path", lambda p: None, TypeError, r"expected the path of a checkpoint file, found NoneType"),
]


@pytest.mark.parametrize("name,make,error,pattern", BAD, ids=[row[0] for row in BAD])
def test_a_bad_checkpoint_is_one_sentence(name, make, error, pattern, tmp_path):
    with pytest.raises(error, match=pattern) as caught:
        dlref.load(make(tmp_path))
    assert "\n" not in str(caught.value) and "; " in str(caught.value)


def test_weights_that_do_not_fit_their_hyper_parameters_are_named(tmp_path):
    saved = torch.load(checkpoint(tmp_path, "fcn", hidden=8), weights_only=True)
    saved["hyper_parameters"]["network_kwargs"] = {"hidden": 32}
    torch.save(saved, tmp_path / "changed.ckpt")
    with pytest.raises(ValueError, match=r"do not fit its own hyper-parameters \(fcn with \{'hidden': 32\}\)"):
        dlref.load(tmp_path / "changed.ckpt")


def test_a_pickle_that_would_run_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"state_dict": {}, "hyper_parameters": {"network": "fcn"}, "x": Exploit()}, tmp_path / "evil.ckpt")
    with pytest.raises(ValueError, match="refused .* found a pickle that would run code"):
        dlref.load(tmp_path / "evil.ckpt")
    assert not marker.exists()
