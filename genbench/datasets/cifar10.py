"""CIFAR-10 (Krizhevsky 2009): 50 000 train / 10 000 test RGB 32x32 images, 10 classes.

Either version of the release is read from ROOT. The python version, ``cifar-10-batches-py/``,
holds Python pickles: every file's MD5 is checked against the official release first (a mismatch
names the file), then torchvision unpickles them, so only the published files are ever unpickled;
genbench never unpickles them itself. The binary version, ``cifar-10-batches-bin/``, is read as raw
records (``genbench.datasets.cifar10_binary``); both give the same pixels. The python version is
preferred when both are there, and is what is downloaded (into the cache only) when neither is.
"""

from __future__ import annotations

from pathlib import Path

import torch

from genbench.datasets import cifar10_binary
from genbench.datasets.base import DataRequest, DatasetSpec, ImageDataset
from genbench.datasets.local import Distribution, fit_images, locate, verify_md5
from genbench.errors import DataError

PYTHON = "cifar-10-batches-py"
BATCHES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
DISTRIBUTION = Distribution(
    "CIFAR-10", (f"{PYTHON}/{{data_batch_1..5,test_batch,batches.meta}} (the official files, MD5-checked)",
                 f"{cifar10_binary.FOLDER}/{{data_batch_1..5,test_batch}}.bin"),
    "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz")


def python_files(root: Path) -> list[tuple[Path, str]]:
    """The python version's files with their official MD5s (torchvision's list)."""
    import torchvision  # seconds to import: only when the data set is read

    cls = torchvision.datasets.CIFAR10
    listed = cls.train_list + cls.test_list + [[cls.meta["filename"], cls.meta["md5"]]]
    return [(root / PYTHON / name, md5) for name, md5 in listed]


def binary_files(root: Path, split: str | None = None) -> list[Path]:
    """The binary version's batch files of ``split`` (default: all)."""
    names = BATCHES[split] if split else BATCHES["train"] + BATCHES["test"]
    return [root / cifar10_binary.FOLDER / f"{name}.bin" for name in names]


def complete(root: Path) -> bool:
    """Whether ROOT holds every file of the python version, or (without that folder) of the binary one."""
    if (root / PYTHON).exists():
        return all(path.is_file() for path, _ in python_files(root))
    return all(path.is_file() for path in binary_files(root))


def load_cifar10(request: DataRequest) -> ImageDataset:
    """The ``train`` or ``test`` split at the protocol's size and channels."""
    import torchvision  # seconds to import: only when the data set is read

    if request.split not in BATCHES:
        raise DataError(f"cifar10 has splits 'train' and 'test', not '{request.split}'")
    root = locate(DISTRIBUTION, request, complete, lambda root: torchvision.datasets.CIFAR10(root, download=True))
    if (root / PYTHON).exists():
        verify_md5(DISTRIBUTION, python_files(root))
        dataset = torchvision.datasets.CIFAR10(root, train=request.split == "train")
        images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2)
        labels = torch.tensor(dataset.targets, dtype=torch.long)
    else:
        images, labels = cifar10_binary.read_binary_batches(binary_files(root, request.split))
    return ImageDataset(images=fit_images(images, request), labels=labels, num_classes=10)


CIFAR10 = DatasetSpec(
    name="cifar10",
    description="CIFAR-10 32x32 RGB, 50k train / 10k test (python version MD5-checked, or binary; downloads when online)",
    load=load_cifar10,
)
