"""Images a model makes in another geometry than the protocol's, brought to it by the harness and recorded.

A resize is PIL's bicubic filter (antialiased: its support widens with the scale) applied to each channel in
float32 and rounded once to uint8, as clean-fid's "clean" mode resizes before Inception. RGB becomes grey by
PIL's ``convert('L')`` (ITU-R 601-2 luma); grey becomes RGB by repeating its channel; any other pair of channel
counts is refused. The resize comes first. Lossy steps (a resize, RGB to grey) change the numbers, so their names
enter the run's fingerprint (``genbench.trust.fingerprint.converted_fingerprint``): such a run is ranked only
with runs converted the same way. Repeating grey loses nothing and leaves the fingerprint alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from genbench.errors import PluginError
from genbench.models.base import ImageFormat
from genbench.trust.fingerprint import converted_fingerprint

RESIZE = "resize: PIL bicubic (antialiased), each channel in float32, rounded to uint8, as clean-fid's clean mode"
TO_GREY = "RGB to grey: PIL convert('L'), ITU-R 601-2 luma"
TO_RGB = "grey to RGB: the channel repeated"


@dataclass(frozen=True)
class Conversion:
    """From the geometry a model makes (``source``) to the protocol's (``target``)."""

    source: ImageFormat
    target: ImageFormat

    @property
    def steps(self) -> list[str]:
        """What is done to every image, in order (none when the formats agree)."""
        steps = [RESIZE] if self.source.size != self.target.size else []
        if (self.source.channels, self.target.channels) == (3, 1):
            steps.append(TO_GREY)
        elif (self.source.channels, self.target.channels) == (1, 3):
            steps.append(TO_RGB)
        return steps

    def apply(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 ``[N, C, H, W]`` of ``source`` as uint8 images of ``target``, on the same device."""
        if not self.steps:
            return images
        if self.source.size != self.target.size:
            images = resize(images, self.target.size)
        if TO_GREY in self.steps:
            images = to_grey(images)
        elif TO_RGB in self.steps:
            images = images.expand(-1, 3, -1, -1).contiguous()
        return images

    def describe(self) -> dict[str, Any] | None:
        """The result's ``samples.conversion``: the model's geometry, the protocol's and the steps; None without."""
        if not self.steps:
            return None
        return {"from": {"size": self.source.size, "channels": self.source.channels},
                "to": {"size": self.target.size, "channels": self.target.channels}, "steps": self.steps}

    def fingerprint(self, fingerprint: str) -> str:
        """The run's fingerprint: the protocol's, with the lossy steps' names when there are any."""
        return converted_fingerprint(fingerprint, [step for step in self.steps if step != TO_RGB])


def plan_conversion(source: ImageFormat, target: ImageFormat, who: str) -> Conversion:
    """The conversion from ``who``'s images (a plugin) to the protocol's; channel counts that are not grey or RGB
    on both sides are refused in one line."""
    conversion = Conversion(source, target)
    if source.channels != target.channels and not {source.channels, target.channels} == {1, 3}:
        raise PluginError(f"{who} makes {source.channels}-channel images and the protocol evaluates "
                          f"{target.channels}-channel ones; genbench converts only between grey and RGB")
    return conversion


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 ``[N, C, H, W]`` resized to ``size`` x ``size`` (``RESIZE``)."""
    source = images.cpu().numpy()
    out = np.empty((*source.shape[:2], size, size), dtype=np.uint8)
    for index, image in enumerate(source):
        for channel, plane in enumerate(image):
            resized = Image.fromarray(plane.astype(np.float32)).resize((size, size), Image.Resampling.BICUBIC)
            out[index, channel] = np.asarray(resized).clip(0, 255).round()
    return torch.from_numpy(out).to(images.device)


def to_grey(images: torch.Tensor) -> torch.Tensor:
    """uint8 RGB ``[N, 3, H, W]`` as grey ``[N, 1, H, W]`` (``TO_GREY``)."""
    rgb = images.permute(0, 2, 3, 1).cpu().numpy()
    grey = np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(image)).convert("L")) for image in rgb])
    return torch.from_numpy(grey)[:, None].to(images.device)
