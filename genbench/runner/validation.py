"""Checks every batch a plugin returns, so a broken plugin fails with its name, not deep in a metric."""

from __future__ import annotations

import torch

from genbench.errors import PluginError
from genbench.models.base import ImageFormat


def validate_batch(images: object, expected: int, image_format: ImageFormat, plugin: str,
                   hook: str = "sample") -> torch.Tensor:
    """Return ``images`` if it is uint8 ``[expected, C, H, W]`` of the protocol's format; else raise."""
    where = f"plugin '{plugin}' {hook}()"
    if not isinstance(images, torch.Tensor):
        raise PluginError(f"{where} returned {type(images).__name__}, expected a torch.Tensor")
    if images.is_floating_point():
        finite = bool(torch.isfinite(images).all())
        detail = "contains NaN/Inf" if not finite else f"values in [{images.min().item():.3g}, {images.max().item():.3g}]"
        raise PluginError(f"{where} returned dtype {images.dtype} ({detail}); expected uint8 images in 0..255")
    if images.dtype != torch.uint8:
        raise PluginError(f"{where} returned dtype {images.dtype}; expected uint8 images in 0..255")
    if images.dim() != 4:
        raise PluginError(f"{where} returned shape {tuple(images.shape)}; expected [N, C, H, W]")
    n, c, h, w = images.shape
    if n != expected:
        raise PluginError(f"{where} returned {n} images; {expected} were asked for")
    if c != image_format.channels:
        raise PluginError(f"{where} returned {c} channels; the protocol needs {image_format.channels}")
    if (h, w) != (image_format.size, image_format.size):
        raise PluginError(f"{where} returned {h}x{w} images; the protocol needs {image_format.size}x{image_format.size}")
    return images
