"""scikit-learn's bundled handwritten digits (1 797 images, 8x8, 10 classes), no download needed.

The 8x8 images (values 0..16) are scaled to 0..255 and brought to the protocol's size with
bilinear interpolation (``torch.nn.functional.interpolate``, ``align_corners=False``). The
split is fixed: a stratified 80/20 split with ``random_state=0`` (1 437 train, 360 test).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from genbench.datasets.base import DataRequest, DatasetSpec, ImageDataset
from genbench.errors import DataError

SPLIT_SEED = 0
TEST_FRACTION = 0.2


def load_digits_split(request: DataRequest) -> ImageDataset:
    """The requested split of the digits at ``request.image_size``, grey or replicated to RGB."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if request.split not in ("train", "test", "all"):
        raise DataError(f"digits has splits 'train', 'test' and 'all', not '{request.split}'")
    bunch = load_digits()
    images = torch.from_numpy(bunch.images).float() / 16.0
    labels = torch.from_numpy(bunch.target).long()
    if request.split != "all":
        train_idx, test_idx = train_test_split(
            torch.arange(len(labels)).numpy(), test_size=TEST_FRACTION,
            random_state=SPLIT_SEED, stratify=labels.numpy(),
        )
        index = torch.from_numpy(train_idx if request.split == "train" else test_idx)
        images, labels = images[index], labels[index]
    images = images.unsqueeze(1)
    if request.image_size != 8:
        images = F.interpolate(images, size=(request.image_size,) * 2, mode="bilinear", align_corners=False)
    images = (images.clamp(0, 1) * 255).round().to(torch.uint8)
    if request.channels == 3:
        images = images.expand(-1, 3, -1, -1).contiguous()
    return ImageDataset(images=images, labels=labels, num_classes=10)


DIGITS = DatasetSpec(
    name="digits",
    description="scikit-learn handwritten digits, 8x8 upsampled bilinearly, fixed stratified 80/20 split",
    load=load_digits_split,
    splits=("train", "test", "all"),
)
