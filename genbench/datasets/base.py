"""The data set contract: a named loader that returns images (uint8) with labels or captions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol, Union

import torch

if TYPE_CHECKING:
    from genbench.storage.statistics_files import Statistics


class LazyImages(Protocol):
    """A stand-in for a uint8 ``[N, C, H, W]`` tensor that makes images only when indexed (files decoded on demand)."""

    dtype: torch.dtype

    @property
    def shape(self) -> torch.Size: ...

    def __len__(self) -> int: ...

    def __getitem__(self, index: Any) -> torch.Tensor: ...


ImageArray = Union[torch.Tensor, LazyImages]


@dataclass
class ImageDataset:
    """Images as uint8 ``[N, C, H, W]`` at the protocol's size, with optional labels or captions.

    ``images`` is a tensor, or ``LazyImages`` for sets too large to hold decoded (COCO, folders):
    the feature pass reads those a chunk at a time; ``pixels()`` decodes them all.
    """

    images: ImageArray
    labels: torch.Tensor | None = None
    captions: list[str] | None = None
    num_classes: int | None = None
    #: A readable name per class (``class_names[k]`` is class k), where the data set has them.
    class_names: list[str] | None = None
    #: What loading found and did (skipped images, dropped captions, selection hash); recorded in results.
    info: dict[str, Any] = field(default_factory=dict)
    #: What the loader read besides pixels that defines the set (every skipped file, annotation and
    #: selection hashes); part of the reference identity (``genbench.trust.reference_identity``).
    identity_source: dict[str, Any] = field(default_factory=dict)
    #: ``pixels_sha256`` when the loader hashed the pixels while decoding them at load (else computed on demand).
    pixels_sha256: str | None = None
    #: The records this set was selected from (COCO image and caption ids), one per image, for export.
    selection: list[dict[str, Any]] | None = None
    #: Published feature statistics read with the set (a reference batch's ``mu``/``sigma``), which Fréchet
    #: distances in the same feature space read instead of the set's features.
    statistics: tuple["Statistics", ...] = ()
    #: The SHA-256 of the one file the set was read from, when that file is all it is (a reference batch or a
    #: statistics file): then it is the set's reference identity.
    file_sha256: str | None = None

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def pixels(self) -> torch.Tensor:
        """All images as one uint8 tensor (decoding lazy images)."""
        return self.images if isinstance(self.images, torch.Tensor) else self.images[:]


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
    #: ``--allow-reference-mismatch``: a pin the loader checks itself (COCO's ``selection_sha256``) that does not
    #: match is recorded in the set's ``info`` under ``mismatch`` instead of refused.
    allow_mismatch: bool = False


DatasetLoader = Callable[[DataRequest], ImageDataset]


@dataclass(frozen=True)
class DatasetSpec:
    """What a plugin's ``genbench_datasets`` hook returns for each data set it provides."""

    name: str
    description: str
    load: DatasetLoader
    splits: tuple[str, ...] = ("train", "test")
    #: Settings a protocol's ``[data]`` table may give besides the generic keys (they reach the loader as
    #: ``DataRequest.options``), with their defaults (None: no default); any other key is refused.
    settings: dict[str, Any] = field(default_factory=dict)
