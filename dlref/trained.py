"""Trained models — the Training slide's last line, ``model.predict(newX)``, for a model trained earlier.

    model = dlref.load("runs/fcn/version_0/checkpoints/best.ckpt")   # a dlref.Model, in eval mode, on the CPU
    model.predict(X).softmax(1)                                     # logits (N, 10) → probabilities

``load`` reads a checkpoint of ``dlref fit`` (or Lightning's ``Trainer.save_checkpoint`` of a ``Classifier``) with
``torch.load(weights_only=True)``, which never runs code, builds the network its hyper-parameters name
(``dlref.networks``) and loads the weights: torch only, not Lightning.
"""

import pickle
from os import PathLike
from pathlib import Path

import torch

from . import networks
from .model import Model

NETWORKS = tuple(networks.NETWORKS)
PREFIX = "model."  # the Lightning Classifier keeps its network as self.model
MONITOR = "val/acc"  # what dlref fit chooses best.ckpt on


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: unreadable, unsafe, or not what it claims."""


# The last file read, kept so that one command reads a checkpoint from disk once however many of its steps ask
# (the CLI's early check, the resume check, Lightning's restore): (path, mtime, size, device) → the loaded dict.
_LAST: tuple[tuple, dict] | None = None


def read(path, device: str | torch.device = "cpu", who: str = "dlref.load ", retry: str = "pass another file",
         example: str = "pass e.g. runs/fcn/version_0/checkpoints/best.ckpt", missing: type = FileNotFoundError,
         error: type = ValueError) -> dict:
    """The one reader of checkpoints in dlref: ``torch.load(path, weights_only=True)``, or one sentence saying why
    not, worded for the caller (``dlref.load``, or the command line's ``--ckpt_path``) by the other arguments."""
    global _LAST
    path = Path(path)
    if not path.is_file():
        found = "a folder" if path.is_dir() else "no file"
        raise missing(f"{who}expected a checkpoint file, found {found} at {path}; {example}.")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, str(device))
    if _LAST is not None and _LAST[0] == key:
        return dict(_LAST[1])  # a new dict: a caller that adds or removes a key changes no other caller's
    try:
        checkpoint = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as failure:
        unsafe = next((line.strip() for line in str(failure).splitlines() if "unsupported global" in line.lower()), "")
        if unsafe:  # the pickle names a function or class to call: what weights_only exists to refuse
            raise error(f"{who}refused to load {path}: expected only tensors and plain values (weights_only=True), "
                        f"found a pickle that would run code ({unsafe[:200].rstrip('.')}); load only checkpoints "
                        "written by dlref from a source you trust.") from None
        raise error(f"{who}could not read checkpoint {path}: expected a torch checkpoint, found a file that is not one "
                    f"(damaged or of another kind); {retry}.") from None
    except Exception as failure:  # torch's readers fail in many ways on a file that is not a checkpoint (KeyError …)
        found = str(failure).splitlines()[0][:200] if str(failure) else type(failure).__name__
        raise error(f"{who}could not read checkpoint {path}: expected a complete torch checkpoint, found {found} "
                    f"(empty, truncated or not a checkpoint); {retry}.") from None
    _LAST = (key, checkpoint) if isinstance(checkpoint, dict) else None
    return dict(checkpoint) if isinstance(checkpoint, dict) else checkpoint


def load(path, device: str | torch.device = "cpu") -> Model:
    """The network saved in the checkpoint at ``path``: a ``dlref.Model`` on ``device``, in eval mode (no dropout),
    its weights frozen for predicting (``model.train().requires_grad_(True)`` to train it further). Its ``predict(X)``
    takes ``(N, 1, 28, 28)`` (``dlref.data.images.digit`` makes one from an image file) and returns **logits**
    ``(N, 10)``: ``.softmax(1)`` gives probabilities, ``.argmax(1)`` digits."""
    if not isinstance(path, (str, PathLike)):
        raise TypeError(f"dlref.load expected the path of a checkpoint file, found {type(path).__name__}; pass e.g. "
                        "runs/fcn/version_0/checkpoints/best.ckpt.")
    return model_from(read(path, device), path).to(device)


def model_from(checkpoint: dict, path="the checkpoint") -> Model:
    """``load``'s model, on the checkpoint's device, from a checkpoint that ``read`` returned."""
    hparams = checkpoint.get("hyper_parameters") if isinstance(checkpoint, dict) else None
    weights = checkpoint.get("state_dict") if isinstance(checkpoint, dict) else None
    if (not isinstance(hparams, dict) or not isinstance(weights, dict) or hparams.get("network") not in NETWORKS
            or not isinstance(hparams.get("network_kwargs", {}), dict)):
        raise ValueError(f"dlref.load expected a dlref checkpoint (state_dict, and hyper_parameters naming one of "
                         f"{NETWORKS}), found {type(checkpoint).__name__} {path} without them; pass a checkpoint "
                         "written by dlref fit.")
    model = networks.build(hparams["network"], hparams.get("network_kwargs"), "dlref.load")
    mine = {k[len(PREFIX):]: v for k, v in weights.items() if k.startswith(PREFIX)}
    try:
        model.load_state_dict(mine)
    except RuntimeError as error:
        raise ValueError(f"dlref.load found weights in {path} that do not fit its own hyper-parameters "
                         f"({hparams['network']} with {hparams.get('network_kwargs')}): "
                         f"{' '.join(str(error).split())[:200]}; the file was changed: pass another.") from None
    return model.eval().requires_grad_(False)  # for predicting: no graph, .numpy() works


def chosen_on(checkpoint: dict, path) -> float | None:
    """The validation accuracy that Lightning's ``ModelCheckpoint`` recorded when it chose the file at ``path``
    (``best.ckpt``); ``None`` for any other (a ``last.ckpt``, a checkpoint saved by hand)."""
    states = checkpoint.get("callbacks") if isinstance(checkpoint, dict) else None
    for key, state in (states or {}).items():
        if not (str(key).startswith("ModelCheckpoint") and f"'{MONITOR}'" in str(key) and isinstance(state, dict)):
            continue
        score, best = state.get("best_model_score"), state.get("best_model_path")
        if score is not None and best and Path(best).name == Path(path).name:
            return float(score)
    return None


def learned(accuracy: float, classes: int = 10) -> bool:
    """Whether a model's accuracy is clearly above chance (1.5 × 1/classes): a finite but far too high learning rate
    gives a model that learned nothing, whose test score would mean nothing."""
    return accuracy >= 1.5 / classes
