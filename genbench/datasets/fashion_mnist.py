"""Fashion-MNIST (Xiao et al. 2017; seed 002): 60 000 train / 10 000 test grey 28x28 images, 10 classes.

Read from torchvision's folder ``ROOT/FashionMNIST/raw/``: each split's images and labels file, as
distributed (``train-images-idx3-ubyte.gz``, decompressed in memory) or unzipped (the name without
``.gz``). When a file is missing, torchvision downloads the set there, in the cache only. The images
and labels files must hold as many images as labels, and labels 0 to 9.
"""

from __future__ import annotations

from pathlib import Path

import torch

from genbench.datasets.base import DataRequest, DatasetSpec, ImageDataset
from genbench.datasets.idx import idx_path, read_idx
from genbench.datasets.local import Distribution, fit_images, locate
from genbench.errors import DataError

RAW = Path("FashionMNIST") / "raw"
DISTRIBUTION = Distribution("Fashion-MNIST", (f"{RAW}/{{train,t10k}}-{{images-idx3,labels-idx1}}-ubyte[.gz]",),
                            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/")
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
NUM_CLASSES = 10


def load_fashion_mnist(request: DataRequest) -> ImageDataset:
    """The ``train`` or ``test`` split at the protocol's size and channels."""
    import torchvision  # seconds to import: only when the data set is read

    if request.split not in FILES:
        raise DataError(f"fmnist has splits 'train' and 'test', not '{request.split}'")
    names = FILES[request.split]
    root = locate(DISTRIBUTION, request, lambda root: all(idx_path(root / RAW, name) for name in names),
                  lambda root: torchvision.datasets.FashionMNIST(root, train=request.split == "train", download=True))
    images_path, labels_path = (idx_path(root / RAW, name) for name in names)
    images = read_idx(images_path, 3, DISTRIBUTION.source)
    labels = read_idx(labels_path, 1, DISTRIBUTION.source)
    if len(images) != len(labels):
        raise DataError(f"{images_path} holds {len(images)} images, {labels_path} {len(labels)} labels: the two "
                        f"files are not of one copy of Fashion-MNIST")
    if len(labels) and labels.max() >= NUM_CLASSES:
        raise DataError(f"{labels_path}: label {labels.max()} at index {labels.argmax()}; Fashion-MNIST's classes "
                        f"are 0 to {NUM_CLASSES - 1}")
    return ImageDataset(images=fit_images(torch.from_numpy(images).unsqueeze(1), request),
                        labels=torch.from_numpy(labels).long(), num_classes=NUM_CLASSES)


FASHION_MNIST = DatasetSpec(
    name="fmnist",
    description="Fashion-MNIST 28x28 grey, 60k train / 10k test (torchvision layout, .gz or not; downloads when online)",
    load=load_fashion_mnist,
)
