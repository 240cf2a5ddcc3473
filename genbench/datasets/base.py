"""The data set contract: a named loader that returns images (uint8) with labels or captions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch


@dataclass
class ImageDataset:
    """Images as uint8 ``[N, C, H, W]`` at the protocol's size, with optional labels or captions."""

    images: torch.Tensor
    labels: torch.Tensor | None = None
    captions: list[str] | None = None
    num_classes: int | None = None
    #: What loading found and did (skipped images, dropped captions, selection hash); recorded in results.
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.images.shape[0])


@dataclass(frozen=True)
class DataRequest:
    """What a protocol asks of a data set: a split at a size, plus the protocol's data options.

    ``root`` is a local data directory (``--data-dir`` / ``GENBENCH_DATA``), or None for the
    loader's default location.
    """

    split: str
    image_size: int
    channels: int
    root: Path | None = None
    options: dict[str, Any] = field(default_factory=dict)


DatasetLoader = Callable[[DataRequest], ImageDataset]


@dataclass(frozen=True)
class DatasetSpec:
    """What a plugin's ``genbench_datasets`` hook returns for each data set it provides."""

    name: str
    description: str
    load: DatasetLoader
    splits: tuple[str, ...] = ("train", "test")
