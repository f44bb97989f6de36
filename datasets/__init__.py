"""Data sets for training and evaluating spiking networks (installed as ``neuro.datasets``)."""

from neuro.datasets.mnist import Dataset, load_dataset

__all__ = ["Dataset", "load_dataset"]
