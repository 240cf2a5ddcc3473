"""Image files: the suffixes genbench reads as images, and sample grids and image files written only where a run
asks for them, atomically (never half a PNG)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from genbench.storage.files import atomic_directory, atomic_path

if TYPE_CHECKING:  # torch is not imported for the suffixes alone (the leaderboard reads them)
    import torch

#: File suffixes read as images: sample folders, captioned data folders, leaderboard artifacts.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def save_grid(images: "torch.Tensor", path: Path, upscale: int | None = None, nrow: int | None = None) -> None:
    """A PNG grid of uint8 images (square-ish unless ``nrow`` images per row); small images are upscaled
    (nearest) to stay legible."""
    from torchvision.utils import make_grid  # torchvision takes seconds to import: only when a grid is drawn

    if len(images) == 0:
        return
    nrow = nrow or math.ceil(math.sqrt(len(images)))
    grid = make_grid(images.float(), nrow=nrow, padding=1, pad_value=255).round().byte()
    picture = Image.fromarray(grid.permute(1, 2, 0).numpy().squeeze(-1) if grid.shape[0] == 1
                              else grid.permute(1, 2, 0).numpy())
    upscale = upscale or max(1, 64 // images.shape[-1])
    if upscale > 1:
        picture = picture.resize((picture.width * upscale, picture.height * upscale), Image.NEAREST)
    with atomic_path(Path(path)) as tmp:
        picture.save(tmp, format="PNG")


def save_images(images: "torch.Tensor", directory: Path) -> None:
    """Every image as ``000000.png`` ... in ``directory`` (new), which appears only once all are written."""
    with atomic_directory(Path(directory)) as tmp:
        for i, image in enumerate(images):
            array = image.permute(1, 2, 0).numpy()
            Image.fromarray(array.squeeze(-1) if array.shape[-1] == 1 else array).save(tmp / f"{i:06d}.png")
