"""Data — MNIST through ``torchvision.datasets``, held in memory as tensors.

``load_mnist`` reads the four MNIST files from ``ROOT/MNIST/raw/`` (torchvision's
layout) and says what is missing and how to get it; ``download_mnist`` is
torchvision's verified download, placed atomically; ``normalize`` scales the
pixels with the training set's mean and std. ``dlref.data.idx`` checks a file
before torchvision reads it; the batching and split helpers live in
``dlref.data.batches`` and ``dlref.data.split``.
"""

from .idx import IDXError, write_idx
from .mnist import (
    DATASETS,
    MNIST,
    MNIST_MEAN,
    MNIST_STD,
    MNISTDownloadError,
    MNISTNotFoundError,
    data_dir,
    download_mnist,
    load_mnist,
    normalize,
)

__all__ = [
    "DATASETS", "IDXError", "MNIST", "MNISTDownloadError", "MNISTNotFoundError", "MNIST_MEAN", "MNIST_STD",
    "data_dir", "download_mnist", "load_mnist", "normalize", "write_idx",
]
