"""CIFAR-10's binary version (``cifar-10-batches-bin``), read without torchvision and without unpickling.

Each batch file is a sequence of 3 073-byte records: one label byte (0-9), then the 32x32 image as
1 024 red, 1 024 green and 1 024 blue bytes, row-major: the same pixel order as the python
version's rows, so both versions of one release give the same images, labels and reference
identity. The release has 10 000 records per file; any whole, non-zero number is read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genbench.errors import DataError

FOLDER = "cifar-10-batches-bin"
SOURCE = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
RECORD = 1 + 3 * 32 * 32
NUM_CLASSES = 10


def read_binary_batches(paths: list[Path]) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images ``[N, 3, 32, 32]`` and int64 labels of the batch files, in order."""
    records = np.concatenate([_records(path) for path in paths])
    images = torch.from_numpy(records[:, 1:].reshape(-1, 3, 32, 32).copy())
    return images, torch.from_numpy(records[:, 0].astype(np.int64))


def _records(path: Path) -> np.ndarray:
    data = path.read_bytes()
    if not data or len(data) % RECORD:
        raise DataError(f"{path}: {len(data)} bytes are not a whole number of {RECORD}-byte records (1 label byte "
                        f"+ 3072 pixel bytes): truncated or damaged (fetch it again from {SOURCE})")
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD)
    if records[:, 0].max() >= NUM_CLASSES:
        index = int(records[:, 0].argmax())
        raise DataError(f"{path}: record {index} has label {records[index, 0]}; CIFAR-10's classes are 0 to "
                        f"{NUM_CLASSES - 1} (the binary version of another data set, such as CIFAR-100?)")
    return records
