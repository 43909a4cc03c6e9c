"""MNIST as a ``LightningDataModule``: torchvision's files, held in memory, and your own digits to predict.

The four files are read once through ``dlref.data.load_mnist`` (torchvision's ``MNIST``, or its ``FashionMNIST`` /
``KMNIST``), normalised with the training set's mean and std, and served in whole batches by ``InMemoryDataModule``.
For ``predict``, ``images`` are your own pictures, brought to MNIST's form by ``dlref.data.images``; without them, the
test set.
"""

import torch

from dlref.data.batches import Batches
from dlref.data.download import download_mnist
from dlref.data.images import read_digits
from dlref.data.mnist import CLASSES, MNIST_MEAN, MNIST_STD, load_mnist, normalize, pixel_stats
from dlref.lightning.datamodule import InMemoryDataModule


class MNISTDataModule(InMemoryDataModule):
    """MNIST from ``data_dir/MNIST/raw`` (default ``$DLREF_DATA_DIR`` or ``./data``): 55,000 / 5,000 / 10,000.

    Args:
        data_dir: folder holding ``MNIST/raw/``.
        dataset: ``MNIST``, or torchvision's ``FashionMNIST`` or ``KMNIST`` (the same format, in
            ``data_dir/FashionMNIST/raw`` …), read through ``torchvision.datasets``.
        download: fetch missing files with torchvision's verified download in ``prepare_data``.
        images: your own digits for ``predict`` (files, folders or globs, e.g. ``'my_digits/*.png'``), brought to
            MNIST's form (``dlref.data.images``); without them ``predict`` classifies the test set.
        **kwargs: ``InMemoryDataModule``'s (batch sizes, validation size, seed, limit, shift).
    """

    checked_classes = CLASSES  # load_mnist checks each label file: digits 0..9

    def __init__(self, data_dir: str | None = None, dataset: str = "MNIST", download: bool = False,
                 images: str | list[str] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.data_dir, self.dataset, self.download, self.images = data_dir, dataset, download, images
        self.predict_X, self.predict_paths = None, None  # your own digits, network inputs, and their files
        self._test = None  # (images, labels) of the test set, uint8, read with the training set
        self.mean, self.std = MNIST_MEAN, MNIST_STD  # another dataset: its own, from its training images

    def prepare_data(self) -> None:
        if self.download:
            download_mnist(self.data_dir, self.dataset)

    def load(self, stage: str):
        if stage == "train" or self._test is None:
            m = load_mnist(self.data_dir, self.dataset)  # all four files, each checked: a damaged test file
            if self.dataset != "MNIST":  # stops the run before training, not after it
                self.mean, self.std = pixel_stats(m.train_images)
            self._test = (m.test_images, m.test_labels)
            if stage == "train":  # not kept: setup keeps the normalised split instead (less peak memory)
                return m.train_images, m.train_labels
        return self._test

    def transform(self, X: torch.Tensor) -> torch.Tensor:
        return normalize(X, self.mean, self.std)  # (N, 28, 28) uint8 → (N, 1, 28, 28) float32

    def setup(self, stage: str) -> None:
        if stage != "predict" or self.images is None:
            return super().setup(stage)
        if self.dataset != "MNIST":
            self.load("train")  # its own mean and std, from its training images
        images, self.predict_paths = read_digits(self.images)  # (N, 28, 28) uint8, as MNIST stores its digits
        self.predict_X = self.transform(images).to(self._device())  # the test set's path from here on

    def predict_dataloader(self) -> Batches:
        if self.images is None:
            return super().predict_dataloader()
        unknown = torch.full((len(self.predict_X),), -1, device=self.predict_X.device)  # no labels
        return Batches(self.predict_X, unknown, self.eval_batch_size, **self._shards())
