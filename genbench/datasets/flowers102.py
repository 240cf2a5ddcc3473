"""Oxford Flowers 102 (Nilsback & Zisserman 2008) as in seed 000's Keras example: centred square crops.

Read by torchvision's ``Flowers102`` from ``ROOT/flowers-102/`` (``jpg/image_NNNNN.jpg``,
``imagelabels.mat``, ``setid.mat``; the .mat files are read by scipy, not unpickled). Each
image is cropped to its centred square and resized with antialiasing to the protocol's size.
Besides torchvision's ``train`` / ``val`` / ``test`` (1 020 / 1 020 / 6 149 images), the
Keras example's split is offered: ``keras-train`` is the first 80 % of each of the three
official splits and ``keras-val`` the last 20 % (its "train[:80%]+validation[:80%]+test[:80%]").
"""

from __future__ import annotations

import torch
import torchvision

from genbench.datasets.base import DataRequest, DatasetSpec, ImageDataset
from genbench.datasets.local import fitted_pil_images, open_torchvision
from genbench.errors import DataError

LAYOUT = "flowers-102/{jpg/image_NNNNN.jpg,imagelabels.mat,setid.mat}"
SOURCE = "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/"
OFFICIAL = ("train", "val", "test")
KERAS = ("keras-train", "keras-val")
KERAS_FRACTION = 0.8


def _official(split: str, request: DataRequest) -> ImageDataset:
    dataset = open_torchvision(
        "Oxford Flowers 102",
        lambda root, download: torchvision.datasets.Flowers102(root, split=split, download=download),
        request, LAYOUT, SOURCE)
    count = len(dataset)
    cut = round(KERAS_FRACTION * count)
    indices = {"keras-train": range(cut), "keras-val": range(cut, count)}.get(request.split, range(count))
    return fitted_pil_images(dataset, list(indices), request, num_classes=102)


def load_flowers102(request: DataRequest) -> ImageDataset:
    """An official split, or the Keras example's 80 / 20 split over all three."""
    if request.split in OFFICIAL:
        return _official(request.split, request)
    if request.split not in KERAS:
        raise DataError(f"flowers102 has splits {', '.join(OFFICIAL + KERAS)}, not '{request.split}'")
    parts = [_official(split, request) for split in OFFICIAL]
    return ImageDataset(images=torch.cat([p.images for p in parts]), labels=torch.cat([p.labels for p in parts]),
                        num_classes=102)


FLOWERS102 = DatasetSpec(
    name="flowers102",
    description="Oxford Flowers 102, centred square crops resized with antialiasing (torchvision layout)",
    load=load_flowers102,
    splits=OFFICIAL + KERAS,
)
