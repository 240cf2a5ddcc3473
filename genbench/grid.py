"""Sample grids and image files, written only where a run asks for them."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from PIL import Image
from torchvision.utils import make_grid


def save_grid(images: torch.Tensor, path: Path, upscale: int | None = None, nrow: int | None = None) -> None:
    """A PNG grid of uint8 images (square-ish unless ``nrow`` images per row); small images are upscaled
    (nearest) to stay legible."""
    if len(images) == 0:
        return
    nrow = nrow or math.ceil(math.sqrt(len(images)))
    grid = make_grid(images.float(), nrow=nrow, padding=1, pad_value=255).round().to(torch.uint8)
    picture = Image.fromarray(grid.permute(1, 2, 0).numpy().squeeze(-1) if grid.shape[0] == 1
                              else grid.permute(1, 2, 0).numpy())
    upscale = upscale or max(1, 64 // images.shape[-1])
    if upscale > 1:
        picture = picture.resize((picture.width * upscale, picture.height * upscale), Image.NEAREST)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    picture.save(path)


def save_images(images: torch.Tensor, directory: Path) -> None:
    """Every image as ``000000.png`` ... in ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        array = image.permute(1, 2, 0).numpy()
        Image.fromarray(array.squeeze(-1) if array.shape[-1] == 1 else array).save(directory / f"{i:06d}.png")
