"""Bad input, answered at the door: one row per mistake, each one sentence (expected, found, what to do),
the CLI exiting non-zero (2 for usage errors) without a traceback, and nothing the user had overwritten."""

import errno
import os
import re
from pathlib import Path

import pytest
import torch

import dlref
from dlref.cli import main
from dlref.data import IDXError, MNISTNotFoundError, load_mnist, write_idx
from dlref.data.mnist import TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS
from dlref.data.split import kfold
from dlref.lightning import InMemoryDataModule, TensorDataModule
from dlref.lightning.checkpoints import AtomicCheckpointIO, CheckpointWriteError, check_checkpoint, load
from dlref.trained import CheckpointError

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def _fake_mnist(root: Path, n=20, labels=None, images=None, train_labels_n=None):
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    imgs = torch.zeros(n, 28, 28, dtype=torch.uint8) if images is None else images
    lab = torch.zeros(n, dtype=torch.uint8) if labels is None else labels
    write_idx(raw / TRAIN_IMAGES, imgs)
    write_idx(raw / TRAIN_LABELS, lab[:train_labels_n] if train_labels_n else lab)
    write_idx(raw / TEST_IMAGES, imgs)
    write_idx(raw / TEST_LABELS, lab)
    return raw


class _Pixels(InMemoryDataModule):
    def __init__(self, value):
        super().__init__(val_size=2)
        self.value = value

    def load(self, stage):
        X = torch.zeros(10, 1, 28, 28)
        X[3, 0, 5, 5] = self.value
        return X, torch.arange(10) % 2


def _truncate(root):
    path = _fake_mnist(root) / TRAIN_IMAGES
    path.write_bytes(path.read_bytes()[:-7])
    load_mnist(root)


def _bad_magic(root):
    path = _fake_mnist(root) / TRAIN_LABELS
    data = bytearray(path.read_bytes())
    data[2] = 0x42
    path.write_bytes(bytes(data))
    load_mnist(root)


# (name, callable taking tmp_path, exception type, message pattern)
LIBRARY = [
    ("missing data directory", lambda p: load_mnist(p / "nowhere"), MNISTNotFoundError, r"missing.*dlref-download"),
    ("truncated IDX file", _truncate, IDXError, TRAIN_IMAGES),
    ("wrongly-headed IDX file", _bad_magic, IDXError, TRAIN_LABELS),
    ("images and labels of different counts", lambda p: load_mnist(p) if _fake_mnist(p, train_labels_n=15) else 0,
     IDXError, TRAIN_LABELS),
    ("labels out of range", lambda p: load_mnist(p) if _fake_mnist(p, labels=torch.full((20,), 11, dtype=torch.uint8))
     else 0, IDXError, "0..9|0 to 9|range"),
    ("NaN pixels", lambda p: _Pixels(float("nan")).setup("fit"), ValueError, "finite pixel values.*found 1"),
    ("infinite pixels", lambda p: _Pixels(float("inf")).setup("fit"), ValueError, "finite pixel values.*found 1"),
    ("Layer: wrong shape", lambda p: dlref.Layer(784, 10)(torch.zeros(2, 28, 28)), ValueError, r"\(batch, 784\)"),
    ("Layer: integer pixels", lambda p: dlref.Layer(784, 10)(torch.zeros(2, 784, dtype=torch.uint8)), TypeError,
     "floating-point"),
    ("ConvLayer: wrong channels", lambda p: dlref.ConvLayer(1, 4, 3)(torch.zeros(2, 3, 28, 28)), ValueError,
     "channel"),
    ("ConvLayer: integer pixels", lambda p: dlref.ConvLayer(1, 4, 3)(torch.zeros(2, 1, 8, 8, dtype=torch.int64)),
     TypeError, "floating-point"),
    ("LSTMLayer: wrong shape", lambda p: dlref.LSTMLayer(28, 8)(torch.zeros(2, 5, 27)), ValueError,
     r"\(batch, time, 28\)"),
    ("LSTMLayer: wrong dtype", lambda p: dlref.LSTMLayer(28, 8)(torch.zeros(2, 5, 28, dtype=torch.int32)),
     TypeError, "floating-point"),
    ("Model.predict: a list", lambda p: dlref.networks.fcn().predict([[0.0] * 784]), TypeError, "torch.as_tensor"),
    ("loss: batch sizes differ", lambda p: dlref.cross_entropy(torch.zeros(4, 10), torch.zeros(3, dtype=torch.long)),
     ValueError, "one label per row"),
    ("more folds than samples", lambda p: kfold(torch.arange(4) % 2, folds=10), ValueError, "fold"),
    ("checkpoint truncated on disk", lambda p: (p / "x.ckpt").write_bytes(b"PK\x03\x04trunc") and load(p / "x.ckpt"),
     CheckpointError, "truncated"),
]


@pytest.mark.parametrize("name,call,error,pattern", LIBRARY, ids=[row[0] for row in LIBRARY])
def test_library_bad_input(name, call, error, pattern, tmp_path):
    with pytest.raises(error, match=pattern) as caught:
        call(tmp_path)
    message = str(caught.value)
    assert len(message) < 600 and ("expected" in message.lower() or "missing" in message.lower()), message


def _ckpt(tmp_path) -> Path:
    """A real fcn checkpoint, written by a one-step fit on fake data."""
    import lightning.pytorch as pl

    from dlref.lightning import Classifier

    trainer = pl.Trainer(max_steps=1, logger=False, enable_progress_bar=False, enable_model_summary=False,
                         limit_val_batches=0, default_root_dir=tmp_path, enable_checkpointing=False)
    trainer.fit(Classifier("fcn", {"hidden": 8}), datamodule=_Pixels(0.0))
    path = tmp_path / "fcn.ckpt"
    trainer.save_checkpoint(path)
    return path


def _bad_checkpoints(tmp_path: Path) -> None:
    """The malformed checkpoint files the CLI rows below pass as --ckpt_path."""
    good = _ckpt(tmp_path)
    (tmp_path / "cut.ckpt").write_bytes(good.read_bytes()[:500])
    (tmp_path / "empty.ckpt").write_bytes(b"")
    (tmp_path / "random.ckpt").write_bytes(bytes(range(256)) * 40)
    torch.save([1, 2, 3], tmp_path / "list.ckpt")
    torch.save({"epoch": 1, "weights": torch.zeros(3)}, tmp_path / "nokeys.ckpt")
    (tmp_path / "text.ckpt").write_text("hello, I am text\n")
    checkpoint = torch.load(good, weights_only=True)
    checkpoint["hyper_parameters"]["network_kwargs"] = {"hidden": 32}  # the weights are for hidden=8
    torch.save(checkpoint, tmp_path / "mismatch.ckpt")


CLI = [
    ("unknown config key", ["fit", "--model.no_such=1"], 2, "no_such"),
    ("wrong type", ["fit", "--trainer.max_epochs=three"], 2,
     r"expected --trainer.max_epochs to be int or None, found 'three'; fix the value"),
    ("a value outside a choice", ["fit", "--trainer.precision=banana"], 2,
     r"expected --trainer.precision to be .*'bf16-mixed'.*, found 'banana'"),
    ("negative learning rate", ["fit", "--model.lr=-0.1"], 2, "finite lr > 0"),
    ("zero learning rate", ["fit", "--model.lr=0"], 2, "finite lr > 0"),
    ("NaN learning rate", ["fit", "--model.lr=.nan"], 2, r"finite lr > 0, found lr=nan; pass e.g. --model.lr=0.05"),
    ("infinite learning rate", ["fit", "--model.lr=.inf"], 2, r"found lr=inf; pass e.g. --model.lr="),
    ("NaN momentum", ["fit", "--model.momentum=.nan"], 2, r"finite momentum >= 0, found momentum=nan"),
    ("step schedule every 0 epochs", ["fit", "--model.schedule=step", "--model.step_size=0"], 2, "step_size >= 1"),
    ("batch size 0", ["fit", "--data.batch_size=0"], 2, "batch sizes >= 1"),
    ("negative data limit", ["fit", "--data.limit=-5"], 2, "limit as an int >= 1"),
    ("missing config file", ["fit", "--config", "configs/nope.yaml"], 2,
     r"found no file at configs/nope.yaml; pass one of the configs in \S*configs/, cnn.yaml, .*fcn.yaml"),
    ("a config named in the wrong case (make train MODEL=CNN)", ["fit", "--config", "configs/CNN.yaml"], 2,
     r"cnn.yaml differs only in case; make train takes the name alone, e.g. MODEL=cnn\)"),
    ("a subcommand that is not there", ["fitt"], 2,
     r"expected a subcommand, one of fit, validate, test, predict, demo, found 'fitt'.*\(dlref --help says"),
    ("an option predict does not have", ["predict", "--data.nope=1"], 2,
     r"--data.nope.*\(dlref predict --help lists every option\)"),
    ("missing data directory", ["fit", "--data.data_dir={tmp}/nowhere"], 1, "dlref-download"),
    ("output folder not writable", ["fit", "--trainer.default_root_dir={tmp}/a_file/runs"], 2, "writable"),
    ("output folder that is a file", ["fit", "--trainer.default_root_dir={tmp}/a_file"], 2, "writable"),
    ("network too large for memory", ["fit", "--model.network_kwargs={{'hidden': 100000000000}}"], 1,
     "ran out of memory.*smaller network"),
    ("test before a model is chosen", ["test"], 2, "expected --ckpt_path"),
    ("a negative gradient clip", ["fit", "--trainer.gradient_clip_val=-1"], 2, r"gradient_clip_val >= 0 .* found -1"),
    ("a folder for a checkpoint", ["test", "--ckpt_path", "{tmp}"], 2, "expected a checkpoint file, found a folder"),
    ("a schedule over a run of no length", ["fit", "--config", str(CONFIGS / "fcn.yaml"), "--trainer.max_epochs=-1"], 2,
     "expected a run of known length for the cosine schedule, found max_epochs=-1"),
    *([("a GPU this machine does not have", ["fit", "--trainer.accelerator=gpu"], 2,
        "expected --trainer settings this machine can run, found that Lightning says: No supported gpu backend")]
      if not torch.cuda.is_available() else []),
    ("checkpoint truncated on disk", ["test", "--ckpt_path", "{tmp}/cut.ckpt"], 2, "truncated"),
    ("empty checkpoint file", ["test", "--ckpt_path", "{tmp}/empty.ckpt"], 2, "could not read checkpoint.*empty"),
    ("checkpoint of random bytes", ["test", "--ckpt_path", "{tmp}/random.ckpt"], 2,
     "could not read checkpoint .*not one"),
    ("checkpoint that is a text file", ["test", "--ckpt_path", "{tmp}/text.ckpt"], 2,
     "could not read checkpoint .*text.ckpt: expected a complete torch checkpoint"),  # torch: KeyError 101
    ("checkpoint holding a list", ["test", "--ckpt_path", "{tmp}/list.ckpt"], 2, "not a dlref checkpoint.*a list"),
    ("checkpoint without weights", ["test", "--ckpt_path", "{tmp}/nokeys.ckpt"], 2,
     "not a dlref checkpoint.*keys \\['epoch', 'weights'\\]"),
    ("hyper-parameters that disagree with the weights", ["test", "--ckpt_path", "{tmp}/mismatch.ckpt"], 2,
     "do not fit its own hyper-parameters"),
]


@pytest.mark.parametrize("name,args,code,pattern", CLI, ids=[row[0] for row in CLI])
def test_cli_bad_input(name, args, code, pattern, tmp_path, capsys, mnist_root):
    (tmp_path / "a_file").write_text("the user's file")
    if any(".ckpt" in a for a in args):
        _bad_checkpoints(tmp_path)
    capsys.readouterr()
    args = [a.format(tmp=tmp_path) for a in args]
    if "--config" not in args:
        args += ["--config", str(CONFIGS / "fcn.yaml")]
    args += [f"--data.data_dir={mnist_root}"] if not any(a.startswith("--data.data_dir") for a in args) else []
    args += [f"--trainer.default_root_dir={tmp_path}/runs"] if "default_root_dir" not in " ".join(args) else []
    defaults = ["--trainer.max_epochs=1", "--data.limit=300", "--data.val_size=50",
                "--trainer.enable_progress_bar=false"]
    args += [d for d in defaults if not any(a.startswith(d.split("=")[0] + "=") for a in args)]
    assert main(args) == code
    err = capsys.readouterr().err
    assert re.search(pattern, err), err[-1500:]
    assert "Traceback" not in err and err.count("error:") == 1
    assert len(err.strip().splitlines()) == 1, err  # one sentence: no usage text, no parser's several lines
    assert "weights_only=False" not in err and "unsafe" not in err or "refused" in pattern
    assert (tmp_path / "a_file").read_text() == "the user's file"
    assert not list((tmp_path / "runs").rglob("version_*")) if (tmp_path / "runs").is_dir() else True


def test_an_empty_test_set_is_found_before_training(tmp_path, capsys):
    raw = _fake_mnist(tmp_path, n=40, labels=torch.arange(40, dtype=torch.uint8) % 10)
    write_idx(raw / TEST_IMAGES, torch.zeros(0, 28, 28, dtype=torch.uint8))
    write_idx(raw / TEST_LABELS, torch.zeros(0, dtype=torch.uint8))
    code = main(["fit", "--config", str(CONFIGS / "fcn.yaml"), f"--data.data_dir={tmp_path}", "--data.val_size=10",
                 f"--trainer.default_root_dir={tmp_path}/runs", "--trainer.enable_progress_bar=false"])
    captured = capsys.readouterr()
    assert code == 1 and "holds no images" in captured.err and "Traceback" not in captured.err
    assert "epoch 1" not in captured.out  # stopped before training, not after
    with pytest.raises(ValueError, match="expected at least one test image, found none"):
        TensorDataModule(torch.zeros(20, 1, 28, 28), torch.arange(20) % 2, torch.zeros(0, 1, 28, 28),
                         torch.zeros(0, dtype=torch.long), val_size=4).check_test_set()


def test_ctrl_c_while_a_checkpoint_is_written_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"step": 1}, path)

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        AtomicCheckpointIO().save_checkpoint({"step": 2}, path)
    assert torch.load(path, weights_only=True) == {"step": 1} and [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_a_checkpoint_of_another_network_is_named(tmp_path):
    # The CLI reads the network from the checkpoint itself; code that builds its own model is checked.
    path = _ckpt(tmp_path)
    with pytest.raises(CheckpointError, match="holds a fcn network, found a config that builds cnn"):
        check_checkpoint(load(path), path, "cnn")


def test_debug_flag_shows_the_traceback(tmp_path):
    with pytest.raises(MNISTNotFoundError):
        main(["fit", "--config", str(CONFIGS / "fcn.yaml"), f"--data.data_dir={tmp_path}", "--debug",
              f"--trainer.default_root_dir={tmp_path}"])


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES], ids=["disk full", "permission denied"])
def test_checkpoint_write_failure_leaves_the_old_file(code, tmp_path, monkeypatch):
    path = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"step": 1}, path)
    before = path.read_bytes()

    def fail(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(CheckpointWriteError, match="previous last.ckpt is untouched"):
        AtomicCheckpointIO().save_checkpoint({"step": 2}, path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_a_checkpoint_whose_pickle_runs_code_is_refused_without_running_it(tmp_path, capsys):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"state_dict": {}, "hyper_parameters": {"network": "fcn"}, "x": Exploit()}, tmp_path / "evil.ckpt")
    with pytest.raises(CheckpointError, match="refused to load"):
        load(tmp_path / "evil.ckpt")
    assert main(["test", "--config", str(CONFIGS / "fcn.yaml"), "--ckpt_path", str(tmp_path / "evil.ckpt"),
                 f"--trainer.default_root_dir={tmp_path}"]) == 2
    assert "refused to load" in capsys.readouterr().err
    assert not marker.exists()
