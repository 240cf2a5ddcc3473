"""Small image sets the metrics tests make for themselves (no data is downloaded)."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from genbench.grid import save_images


def make_images(seed: int, count: int, size: int = 32, channels: int = 3, shift: float = 0.0,
                noise: float = 12.0) -> torch.Tensor:
    """uint8 images with some structure: upsampled 4x4 colour fields plus pixel noise, shifted in brightness."""
    generator = torch.Generator().manual_seed(seed)
    fields = torch.rand(count, channels, 4, 4, generator=generator) * 255
    images = F.interpolate(fields, size=(size, size), mode="bilinear", align_corners=False)
    images = images + torch.randn(count, channels, size, size, generator=generator) * noise + shift
    return images.clamp(0, 255).round().to(torch.uint8)


def write_folder(images: torch.Tensor, folder: Path) -> Path:
    save_images(images, folder)
    return folder
