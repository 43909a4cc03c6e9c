"""Checkpoints that cannot be lost half-written and cannot run code when loaded.

Writing: the bytes go to a temporary file in the same folder, are flushed to disk, and only then replace the old
file in one ``os.replace``; a crash or a full disk mid-write leaves the previous checkpoint as it was. Reading:
through dlref's one reader, ``dlref.trained.read`` (``torch.load(weights_only=True)``), and the checkpoint is checked
to hold the network its hyper-parameters build before Lightning touches it.
"""

import io
import os
import tempfile
from pathlib import Path

import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO

from dlref import networks
from dlref.trained import CheckpointError, read


class CheckpointWriteError(OSError):
    """A checkpoint could not be written; the previous one is untouched."""


class AtomicCheckpointIO(TorchCheckpointIO):
    """``TorchCheckpointIO`` whose writes are all-or-nothing and whose reads are ``weights_only``."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        path = Path(path)
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)  # serialise first: a failure here touches no file
        part = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, part = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.part-")
            with os.fdopen(fd, "wb") as f:
                f.write(buffer.getbuffer())
                f.flush()
                os.fsync(f.fileno())
            os.replace(part, path)  # atomic on one file system
            part = None
        except OSError as error:
            kept = f"the previous {path.name} is untouched" if path.exists() else "no earlier file was there"
            raise CheckpointWriteError(
                error.errno,
                f"could not write checkpoint {path}: expected a writable folder with free space, found "
                f"{error.strerror or error}; free some space or pass a writable --trainer.default_root_dir ({kept}).",
            ) from error
        finally:  # also on Ctrl-C or a signal mid-write: no half-written file is left behind
            if part and os.path.exists(part):
                os.remove(part)

    def load_checkpoint(self, path, map_location=None, weights_only=None) -> dict:
        checkpoint = load(path, map_location=map_location)
        check_checkpoint(checkpoint, path)
        return checkpoint


def load(path, map_location=None) -> dict:
    """``dlref.trained.read`` worded for ``--ckpt_path``: one sentence when the file is unusable."""
    return read(path, map_location or "cpu", who="", retry="pass another --ckpt_path",
                example="check the --ckpt_path (e.g. runs/fcn/version_0/checkpoints/best.ckpt)",
                missing=CheckpointError, error=CheckpointError)


def check_checkpoint(checkpoint, path, network: str | None = None) -> None:
    """Raise ``CheckpointError`` unless ``checkpoint`` is a dlref checkpoint whose weights fit the network its
    hyper-parameters build (and, if given, that network is ``network``)."""
    hparams = checkpoint.get("hyper_parameters") if isinstance(checkpoint, dict) else None
    weights = checkpoint.get("state_dict") if isinstance(checkpoint, dict) else None
    if not isinstance(hparams, dict) or not isinstance(weights, dict) or "network" not in hparams:
        found = (f"a {type(checkpoint).__name__}" if not isinstance(checkpoint, dict) else
                 f"a dict with keys {sorted(map(str, checkpoint))[:6]}")
        raise CheckpointError(f"checkpoint {path} is not a dlref checkpoint: expected a dict with state_dict and "
                              f"hyper_parameters naming a network, found {found}; pass a checkpoint written by dlref.")
    found = hparams["network"]
    if network is not None and found != network:
        raise CheckpointError(
            f"checkpoint {path} holds a {found} network, found a config that builds {network}; "
            f"pass the config it was trained with (e.g. --config configs/{found}.yaml) or another --ckpt_path."
        )
    try:
        with torch.device("meta"):  # shapes only: no memory, however large the network
            expected = {f"model.{k}": tuple(v.shape) for k, v in
                        networks.build(found, hparams.get("network_kwargs")).state_dict().items()}
    except (AttributeError, TypeError, ValueError) as error:
        raise CheckpointError(f"checkpoint {path} names a network dlref cannot build ({found!r} with "
                              f"{hparams.get('network_kwargs')}): {str(error)[:200]}; pass another --ckpt_path."
                              ) from None
    saved = {k: tuple(v.shape) for k, v in weights.items() if k.startswith("model.") and hasattr(v, "shape")}
    if saved != expected:
        wrong = sorted(set(saved.items()) ^ set(expected.items()))[:2]
        raise CheckpointError(f"checkpoint {path} holds weights that do not fit its own hyper-parameters "
                              f"({found} with {hparams.get('network_kwargs')}): expected the shapes the network has, "
                              f"found differences such as {wrong}; the file was changed: pass another --ckpt_path.")


def find_last(runs_dir, network: str) -> Path:
    """The newest ``last.ckpt`` under ``runs_dir/network/version_*/checkpoints/``."""
    candidates = sorted(Path(runs_dir, network).glob("version_*/checkpoints/last.ckpt"), key=os.path.getmtime)
    if not candidates:
        raise CheckpointError(
            f"--ckpt_path last expected a last.ckpt under {Path(runs_dir, network)}/version_*/checkpoints/, "
            "found none; start the run without --ckpt_path, or pass the checkpoint's path."
        )
    return candidates[-1]


class LastCheckpoint(ModelCheckpoint):
    """``last.ckpt``, the state ``--ckpt_path last`` resumes: at the end of every epoch (after its
    validation), and every ``every_n_steps`` training steps.

    Lightning's ``ModelCheckpoint`` takes steps or epochs, not both, and writes ``last`` only beside a
    top-k file; a resume wants both cadences and nothing else. It stays a ``ModelCheckpoint`` so that
    Lightning runs it after the one that keeps ``best.ckpt``, whose choice it then records.
    """

    def __init__(self, dirpath: str | None = None, every_n_steps: int = 0):
        super().__init__(dirpath=dirpath, monitor=None, save_top_k=0, save_last=False)
        if every_n_steps < 0:
            raise ValueError(f"expected every_n_steps >= 0, found {every_n_steps}; pass 0 for epoch ends only.")
        self.every_n_steps = every_n_steps

    def _save(self, trainer) -> None:
        if trainer.state.fn == "fit" and not trainer.sanity_checking and not trainer.fast_dev_run:
            trainer.save_checkpoint(Path(self.dirpath) / "last.ckpt", weights_only=False)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        # Not after an epoch's last batch: a run resumed from there would skip that epoch's validation.
        # The checkpoint after the validation stands for it.
        last_batch = batch_idx + 1 >= trainer.num_training_batches
        if self.every_n_steps and trainer.global_step % self.every_n_steps == 0 and not last_batch:
            self._save(trainer)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        # After the epoch's validation, and after the ModelCheckpoint that keeps best.ckpt has made its
        # choice (Lightning runs checkpoint callbacks last, in order): the state records that choice.
        self._save(trainer)
