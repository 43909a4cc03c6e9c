"""Data — MNIST through ``torchvision.datasets``, held in memory as tensors.

``load_mnist`` reads ``ROOT/MNIST/raw/`` (torchvision's layout) and says what is missing and how to get it;
``download_mnist`` is torchvision's verified download, placed atomically; ``normalize`` scales the pixels with the
training set's mean and std; ``digit`` and ``read_digits`` bring your own image files to MNIST's form. Batches and
validation splits: ``dlref.data.batches`` and ``dlref.data.split``.
"""

from .download import download_mnist
from .idx import IDXError, write_idx
from .images import ImageError, digit, read_digits, to_mnist
from .mnist import (
    DATASETS,
    MNIST,
    MNIST_MEAN,
    MNIST_STD,
    MNISTDownloadError,
    MNISTNotFoundError,
    data_dir,
    load_mnist,
    normalize,
)

__all__ = [
    "DATASETS", "IDXError", "ImageError", "MNIST", "MNISTDownloadError", "MNISTNotFoundError", "MNIST_MEAN",
    "MNIST_STD", "data_dir", "digit", "download_mnist", "load_mnist", "normalize", "read_digits", "to_mnist",
    "write_idx",
]
