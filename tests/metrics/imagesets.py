"""Small image sets the metrics tests make for themselves (no data is downloaded)."""

from __future__ import annotations

from pathlib import Path

import torch

from genbench.extractors.random_inception import structured_images as make_images
from genbench.storage.images import save_images

__all__ = ["make_images", "write_folder"]


def write_folder(images: torch.Tensor, folder: Path) -> Path:
    """Images as numbered PNG files in ``folder`` (what the libraries' folder loaders read)."""
    save_images(images, folder)
    return folder
