"""Fashion-MNIST (Xiao et al. 2017; seed 002): 60 000 train / 10 000 test grey 28x28 images, 10 classes.

Read by torchvision's ``FashionMNIST`` from its on-disk layout (the four uncompressed idx
files under ``ROOT/FashionMNIST/raw/``), downloaded there by torchvision when online.
"""

from __future__ import annotations

import torchvision

from genbench.datasets.base import DataRequest, DatasetSpec, ImageDataset
from genbench.datasets.local import fit_images, open_torchvision
from genbench.errors import DataError

LAYOUT = "FashionMNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte"
SOURCE = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"


def load_fashion_mnist(request: DataRequest) -> ImageDataset:
    """The ``train`` or ``test`` split at the protocol's size and channels."""
    if request.split not in ("train", "test"):
        raise DataError(f"fmnist has splits 'train' and 'test', not '{request.split}'")
    dataset = open_torchvision(
        "Fashion-MNIST",
        lambda root, download: torchvision.datasets.FashionMNIST(root, train=request.split == "train",
                                                                 download=download),
        request, LAYOUT, SOURCE)
    images = fit_images(dataset.data.unsqueeze(1), request)
    return ImageDataset(images=images, labels=dataset.targets.long(), num_classes=10)


FASHION_MNIST = DatasetSpec(
    name="fmnist",
    description="Fashion-MNIST 28x28 grey, 60k train / 10k test (torchvision layout; downloads when online)",
    load=load_fashion_mnist,
)
