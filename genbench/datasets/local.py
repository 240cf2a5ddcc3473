"""What the distributed data sets share: where their files live, downloads, checksums, and the resize.

A data set is read from ``--data-dir`` / ``GENBENCH_DATA`` when given; that directory is only read,
never written, so nothing is downloaded or unpacked into it. Without one, the root is
``CACHE/data`` (``~/.cache/genbench/data``), where a missing data set is downloaded when the machine
is online (``GENBENCH_OFFLINE`` / ``HF_HUB_OFFLINE`` unset). A missing copy is one line naming the
layout, the source and why nothing was downloaded; a file that fails its MD5 is one line naming
the file, both checksums and the likely cause. Images are brought to the protocol's geometry in one
documented way: a centred square crop of the shorter side, then an antialiased bilinear resize
(torchvision) when the size differs, then grey <-> RGB by ITU-R 601-2 luma or by channel replication.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import torch

from genbench.datasets.base import DataRequest
from genbench.errors import DataError
from genbench.storage.caches import default_cache_dir
from genbench.storage.downloads import DownloadFailed, attempt
from genbench.storage.weights import offline


@dataclass(frozen=True)
class Distribution:
    """How a data set is distributed: its name in messages, the layouts a root may hold, where it comes from."""

    name: str
    layouts: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class DataRoot:
    """The directory a data set is read from, and why nothing may be downloaded into it (None: it may)."""

    path: Path
    no_download: str | None


def data_root(request: DataRequest) -> DataRoot:
    """``--data-dir`` / ``$GENBENCH_DATA`` (only read), else ``CACHE/data`` (downloaded into when online)."""
    given = request.root or os.environ.get("GENBENCH_DATA")
    if offline():
        return DataRoot(Path(given) if given else default_cache_dir() / "data", "downloads are off")
    if given:
        return DataRoot(Path(given), "--data-dir is only read, never downloaded into")
    return DataRoot(default_cache_dir() / "data", None)


def locate(distribution: Distribution, request: DataRequest, complete: Callable[[Path], bool],
           download: Callable[[Path], Any]) -> Path:
    """The root holding a complete copy (``complete(root)``), ``download``-ed first where that is allowed;
    else a ``DataError`` naming the layouts, the source and why nothing was downloaded."""
    root = data_root(request)
    reason = root.no_download
    if reason is None and not complete(root.path):
        reason = "the download did not bring it"
        try:
            attempt(lambda: download(root.path))
        except DownloadFailed as failed:  # any network failure, or torchvision's check of what it fetched
            reason = f"download failed: {failed.reason}"
    if not complete(root.path):
        expected = " or ".join(f"{root.path}/{layout}" for layout in distribution.layouts)
        raise DataError(f"{distribution.name} not found or incomplete under {root.path} ({reason}); expected "
                        f"{expected}, downloaded from {distribution.source} (pass the root with --data-dir or "
                        f"$GENBENCH_DATA)")
    return root.path


def verify_md5(distribution: Distribution, files: Iterable[tuple[Path, str]]) -> None:
    """Each ``(path, md5)`` has the official release's MD5; the first that does not is a one-line ``DataError``."""
    from torchvision.datasets.utils import calculate_md5  # seconds to import: only when the data set is read

    for path, expected in files:
        actual = calculate_md5(str(path))
        if actual != expected:
            raise DataError(f"{path}: MD5 {actual} is not the official {distribution.name} release's {expected}: "
                            f"another release or a damaged download (fetch it again from {distribution.source})")


def fit_images(images: torch.Tensor, request: DataRequest) -> torch.Tensor:
    """uint8 ``[N, C, H, W]`` -> the protocol's size and channels (centre crop, antialiased resize)."""
    from torchvision.transforms.v2 import functional as TF  # seconds to import: only when the data set is read

    height, width = images.shape[-2:]
    side = min(height, width)
    if height != width:
        images = TF.center_crop(images, [side, side])
    if side != request.image_size:
        images = TF.resize(images, [request.image_size] * 2, antialias=True)
    if images.shape[1] == 3 and request.channels == 1:
        images = TF.rgb_to_grayscale(images)
    elif images.shape[1] == 1 and request.channels == 3:
        images = images.expand(-1, 3, -1, -1)
    return images.contiguous()
