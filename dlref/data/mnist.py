"""MNIST — the handwritten digits the slides train on, through ``torchvision.datasets``.

``load_mnist`` reads the four IDX files of ``ROOT/MNIST/raw/`` with ``torchvision.datasets.MNIST(ROOT, train=...)``
and holds them in memory:

    train_images (60000, 28, 28) uint8    train_labels (60000,) int64
    test_images  (10000, 28, 28) uint8    test_labels  (10000,) int64

``ROOT`` is the ``root`` argument, else ``$DLREF_DATA_DIR``, else ``./data``; ``dataset="FashionMNIST"`` or
``"KMNIST"`` reads torchvision's twins of the same format from ``ROOT/<dataset>/raw/``. Each file is checked before
torchvision reads it, so a missing or damaged one is a sentence naming it, the folder and what to do. Getting the files
is ``dlref.data.download``; ``normalize`` makes ``(N, 1, 28, 28)`` float32 with the training set's mean and std.
"""

import os
from pathlib import Path
from typing import NamedTuple

import torch
import torchvision

from .idx import IDXError, header

MNIST_MEAN = 0.1307  # training pixels on the 0..1 scale (LeCun's files; ../shared/data/README.md)
MNIST_STD = 0.3081
DATASETS = ("MNIST", "FashionMNIST", "KMNIST")  # torchvision's datasets in MNIST's format
ENV_VAR = "DLREF_DATA_DIR"
DEFAULT_DATA_DIR = "data"
TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
CLASSES = 10
HOW_TO_GET = (
    "download them with `dlref-download --root {root}{option}` (or --data.download=true), or point dlref at a folder "
    f"that has {{dataset}}/raw/ with {ENV_VAR}=FOLDER or --data.data_dir FOLDER"
)


class MNIST(NamedTuple):
    """The four MNIST arrays, as ``load_mnist`` returns them."""

    train_images: torch.Tensor  # (60000, 28, 28) uint8
    train_labels: torch.Tensor  # (60000,) int64
    test_images: torch.Tensor  # (10000, 28, 28) uint8
    test_labels: torch.Tensor  # (10000,) int64


class MNISTNotFoundError(FileNotFoundError):
    """Some of the four files are not in ``ROOT/<dataset>/raw/``."""


class MNISTDownloadError(OSError):
    """The download failed; nothing was placed in ``raw/``."""


def data_dir(root=None) -> Path:
    """``root`` if given, else ``$DLREF_DATA_DIR``, else ``./data``."""
    return Path(root if root is not None else os.environ.get(ENV_VAR) or DEFAULT_DATA_DIR).expanduser()


def dataset_class(name: str) -> type:
    if name not in DATASETS:
        raise ValueError(f"expected a dataset in {DATASETS}, found {name!r}; pass e.g. --data.dataset=MNIST.")
    return getattr(torchvision.datasets, name)


def raw_dir(root=None, dataset: str = "MNIST") -> Path:
    """``ROOT/<dataset>/raw``, the folder that holds the four IDX files."""
    return data_dir(root) / dataset / "raw"


def normalize(images: torch.Tensor, mean: float = MNIST_MEAN, std: float = MNIST_STD) -> torch.Tensor:
    """``(N, 28, 28)`` uint8 pixels -> ``(N, 1, 28, 28)`` float32, ``(x / 255 - mean) / std``."""
    return images.float().div_(255).sub_(mean).div_(std).unsqueeze(1)  # in place: one copy, not three


def pixel_stats(images: torch.Tensor) -> tuple[float, float]:
    """Mean and standard deviation of uint8 ``images`` on the 0..1 scale, from their histogram (exact, no copy)."""
    counts = torch.bincount(images.flatten(), minlength=256).double()
    values = torch.arange(256, dtype=torch.float64) / 255
    mean = (counts * values).sum() / counts.sum()
    return float(mean), float(((counts * (values - mean) ** 2).sum() / (counts.sum() - 1)).sqrt())


def _not_found(root, dataset: str, missing: list[str]) -> MNISTNotFoundError:
    folder = raw_dir(root, dataset).resolve()
    root = folder.parent.parent
    hint = ""  # the usual slips: a data folder one level off, or files still packed
    if root.name == "raw" and root.parent.name == dataset and (root / missing[0]).is_file():
        hint = f" (they are in {root}: pass the folder above {dataset}/, {root.parent.parent}, as the data folder)"
        root = root.parent.parent  # the folder every suggestion below must name
    elif near := next((d for d in (root, root / dataset) if (d / missing[0]).is_file()), None):
        hint = f" (found {missing[0]} in {near}: move the files into {folder})"
    elif (folder / f"{missing[0]}.gz").is_file():
        hint = f" (found {missing[0]}.gz: dlref-download unpacks it after checking its MD5)"
    option = f" --dataset {dataset}" if dataset != "MNIST" else ""
    return MNISTNotFoundError(
        f"{dataset} files are missing: expected {', '.join(missing)} in {folder}, found no such "
        f"file{'s' if len(missing) > 1 else ''}{hint}; {HOW_TO_GET.format(root=root, dataset=dataset, option=option)}."
    )


def _check(folder: Path, name: str, ndim: int) -> int:
    """Check that ``folder/name`` holds uint8 values of ``ndim`` dimensions (28×28 images); return their count."""
    path = folder / name
    dtype, shape = header(path)
    if dtype != torch.uint8 or len(shape) != ndim or (ndim == 3 and shape[1:] != (28, 28)):
        what = "images of shape (N, 28, 28)" if ndim == 3 else "labels of shape (N,)"
        raise IDXError(f"{path} holds {dtype} of shape {shape}, expected uint8 {what}; check that it is the "
                       "right file, or move it away and download it again.")
    return shape[0]


def _read(root, dataset: str, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    folder = raw_dir(root, dataset)
    images, labels = (TRAIN_IMAGES, TRAIN_LABELS) if train else (TEST_IMAGES, TEST_LABELS)
    n_images, n_labels = _check(folder, images, 3), _check(folder, labels, 1)
    if n_images == 0:
        raise IDXError(f"{folder / images} holds no images, expected the {'training' if train else 'test'} set; "
                       "move it away and download it again.")
    if n_images != n_labels:
        raise IDXError(f"{folder / images} holds {n_images} images but {folder / labels} holds {n_labels} labels, "
                       "expected as many of each; move both away and download them again.")
    data = dataset_class(dataset)(str(data_dir(root)), train=train)  # torchvision reads the two files
    t = data.targets
    if int(t.max()) >= CLASSES:  # once per file (the DataModule does not check them again), never per batch
        raise IDXError(f"{folder / labels} holds labels {int(t.min())}..{int(t.max())}, expected digits "
                       f"0..{CLASSES - 1}; move it away and download it again.")
    return data.data, t


def load_mnist(root=None, dataset: str = "MNIST") -> MNIST:
    """The four arrays of ``ROOT/<dataset>/raw/`` (see the module docstring for shapes)."""
    dataset_class(dataset)
    folder = raw_dir(root, dataset)
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise _not_found(root, dataset, missing)
    return MNIST(*_read(root, dataset, train=True), *_read(root, dataset, train=False))
