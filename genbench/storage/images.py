"""Image files: the suffixes genbench reads as images, the rule that makes any image file 8-bit grey or RGB, and
sample grids and image files written only where a run asks for them, atomically (never half a PNG)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from genbench.errors import DataError
from genbench.storage.files import atomic_directory, atomic_path

if TYPE_CHECKING:  # torch is not imported for the suffixes alone (the leaderboard reads them)
    import torch

#: File suffixes read as images: sample folders, captioned data folders, leaderboard artifacts.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")

#: PIL modes of 16-bit grey files, and the rule that brings them to 8 bits (65 535 to 255, exact for 8-bit values
#: stored as 16-bit ones), rather than PIL's conversion, which clips every value above 255 to white.
SIXTEEN_BIT = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
SIXTEEN_BIT_RULE = "16-bit grey to 8 bits as round(v / 257)"
ONE_BIT_RULE = "1-bit as 0 and 255"
OPAQUE_ALPHA_RULE = "fully opaque alpha channel dropped"


def eight_bit(picture: Image.Image, name: str) -> tuple[Image.Image, str | None]:
    """``picture`` as 8-bit grey ('L') or RGB, with the rule applied (None for grey and RGB files, and for modes
    PIL converts to RGB without loss of meaning: palette, CMYK, YCbCr). Transparent pixels (genbench would have to
    guess a background) and 32-bit or float pixels (no agreed range) are a ``DataError`` naming the file."""
    import numpy as np

    mode = picture.mode
    if mode in ("L", "RGB"):
        return picture, None
    if mode == "1":
        return picture.convert("L"), ONE_BIT_RULE
    if mode in SIXTEEN_BIT:
        values = np.asarray(picture, dtype=np.uint16).astype(np.float64)
        return Image.fromarray(np.round(values / 257).astype(np.uint8)), SIXTEEN_BIT_RULE
    if mode in ("I", "F"):
        raise DataError(f"{name} has {'32-bit integer' if mode == 'I' else 'floating-point'} pixels; save the "
                        f"images as 8-bit (or 16-bit) grey or RGB")
    if mode in ("P", "PA") or "A" in mode or "a" in mode:
        flat = picture.convert("LA" if mode in ("LA", "La") else "RGBA")
        alpha = np.asarray(flat.getchannel("A"))
        if alpha.min() < 255:
            raise DataError(f"{name} has transparent pixels; genbench does not guess a background: flatten the "
                            f"images onto the background your model meant, then score again")
        has_alpha = mode != "P" or "transparency" in picture.info
        return flat.convert("L" if flat.mode == "LA" else "RGB"), OPAQUE_ALPHA_RULE if has_alpha else None
    return picture.convert("RGB"), None


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
