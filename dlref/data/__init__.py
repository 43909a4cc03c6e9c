"""Data — MNIST read from its IDX files in torchvision's layout, held in memory as tensors.

``read_idx`` reads one IDX file (plain or gzip); ``load_mnist`` reads the four
MNIST files from ``ROOT/MNIST/raw/`` and says what is missing and how to get it;
``download_mnist`` fetches them. Imports only torch and the standard library
(the batching and split helpers live in ``dlref.data.batches`` / ``.split``).
"""

from .idx import IDXError, read_idx, write_idx
from .mnist import (
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
    "IDXError", "MNIST", "MNISTDownloadError", "MNISTNotFoundError", "MNIST_MEAN", "MNIST_STD", "data_dir",
    "download_mnist", "load_mnist", "normalize", "read_idx", "write_idx",
]
