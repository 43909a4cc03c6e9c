"""The Lightning layer: the only part of dlref that imports lightning."""

from .datamodule import DigitsDataModule, InMemoryDataModule, MNISTDataModule, TensorDataModule
from .module import Classifier

__all__ = ["Classifier", "DigitsDataModule", "InMemoryDataModule", "MNISTDataModule", "TensorDataModule"]
