"""What the torchvision-backed data sets share: where their files live, the offline error, and the resize.

A data set is read from ``--data-dir`` / ``GENBENCH_DATA`` when given, else from
``CACHE/data`` (``~/.cache/genbench/data``); torchvision downloads it there only when the
machine is online (``GENBENCH_OFFLINE`` / ``HF_HUB_OFFLINE`` unset) and no data directory was
given. Images are brought to the protocol's geometry in one documented way: a centred square
crop of the shorter side, then an antialiased bilinear resize (torchvision) when the size
differs, then grey <-> RGB by ITU-R 601-2 luma or by channel replication.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import torch
from torchvision.transforms.v2 import functional as TF

from genbench.datasets.base import DataRequest, ImageDataset
from genbench.errors import DataError
from genbench.storage.caches import default_cache_dir
from genbench.storage.downloads import DownloadFailed, attempt
from genbench.storage.weights import offline


def data_root(request: DataRequest) -> tuple[Path, bool]:
    """The directory to read (and maybe download into), and whether downloading is allowed."""
    if request.root is not None:
        return Path(request.root), False
    return default_cache_dir() / "data", not offline()


def open_torchvision(name: str, factory: Callable[[Path, bool], Any], request: DataRequest, layout: str,
                     source: str) -> Any:
    """Build a torchvision data set; a missing or corrupt copy becomes one line naming layout and source."""
    root, download = data_root(request)
    try:
        return attempt(lambda: factory(root, download))
    except DownloadFailed as failed:  # without download: torchvision's "not found"; with: any network failure
        reason = "downloads are off" if not download else f"download failed: {failed.reason}"
        raise DataError(f"{name} not found or incomplete under {root} ({reason}); expected {root}/{layout}, "
                        f"downloaded from {source} (pass the root with --data-dir or $GENBENCH_DATA)") from None


def fit_images(images: torch.Tensor, request: DataRequest) -> torch.Tensor:
    """uint8 ``[N, C, H, W]`` -> the protocol's size and channels (centre crop, antialiased resize)."""
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


def fitted_pil_images(dataset: Any, indices: list[int], request: DataRequest,
                      num_classes: int) -> ImageDataset:
    """The items of a torchvision data set of PIL images of any size, each fitted to the protocol."""
    images = [torch.empty(0, request.channels, request.image_size, request.image_size, dtype=torch.uint8)]
    labels = []
    for index in indices:
        image, label = dataset[index]
        images.append(fit_images(TF.pil_to_tensor(image.convert("RGB")).unsqueeze(0), request))
        labels.append(int(label))
    return ImageDataset(images=torch.cat(images), labels=torch.tensor(labels, dtype=torch.long),
                        num_classes=num_classes)
