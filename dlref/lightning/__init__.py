"""The Lightning layer: the only part of dlref that imports lightning (the entry points in ``dlref.cli`` use it)."""

from .datamodule import DigitsDataModule, InMemoryDataModule, TensorDataModule
from .mnist import MNISTDataModule
from .module import Classifier

__all__ = ["Classifier", "DigitsDataModule", "InMemoryDataModule", "MNISTDataModule", "TensorDataModule"]
