"""Data sets: the reference images a protocol compares against and the data models train on."""

from genbench.datasets.base import DataRequest, DatasetSpec, ImageDataset

__all__ = ["DataRequest", "DatasetSpec", "ImageDataset"]
