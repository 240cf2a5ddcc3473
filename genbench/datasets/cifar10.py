"""CIFAR-10 (Krizhevsky 2009): 50 000 train / 10 000 test RGB 32x32 images, 10 classes.

Read by torchvision's ``CIFAR10`` from ``ROOT/cifar-10-batches-py/``. Those batches are
Python pickles: torchvision checks every file's MD5 against the official release before it
unpickles it, so only the published files are ever unpickled; genbench never unpickles them
itself.
"""

from __future__ import annotations

import torch
import torchvision

from genbench.datasets.base import DataRequest, DatasetSpec, ImageDataset
from genbench.datasets.local import fit_images, open_torchvision
from genbench.errors import DataError

LAYOUT = "cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta} (the official files, MD5-checked)"
SOURCE = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


def load_cifar10(request: DataRequest) -> ImageDataset:
    """The ``train`` or ``test`` split at the protocol's size and channels."""
    if request.split not in ("train", "test"):
        raise DataError(f"cifar10 has splits 'train' and 'test', not '{request.split}'")
    dataset = open_torchvision(
        "CIFAR-10",
        lambda root, download: torchvision.datasets.CIFAR10(root, train=request.split == "train", download=download),
        request, LAYOUT, SOURCE)
    images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2)
    return ImageDataset(images=fit_images(images, request), labels=torch.tensor(dataset.targets, dtype=torch.long),
                        num_classes=10)


CIFAR10 = DatasetSpec(
    name="cifar10",
    description="CIFAR-10 32x32 RGB, 50k train / 10k test (torchvision layout, MD5-checked; downloads when online)",
    load=load_cifar10,
)
