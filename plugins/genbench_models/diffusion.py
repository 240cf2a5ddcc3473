"""Pixel-space diffusion on a diffusers ``UNet2DModel``: what DDPM, DDIM and seed 000's cosine DDIM share.

The U-Net is built from the plugin config (widths, blocks per level, attention levels) or,
for a published pipeline, from its own ``unet/config.json``. Images whose side is not a
multiple of the U-Net's total downsampling are zero-padded on the right and bottom before
the network and cropped after, so 16x16 digits and 28x28 Fashion-MNIST fit the same U-Net.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from genbench.models.kit import NetworkModel
from genbench.models.precision import PrecisionSetting

if TYPE_CHECKING:  # diffusers takes seconds to import: only where a network is built
    from diffusers import UNet2DModel

#: U-Net keys of a plugin config (the rest describe the noise schedule).
UNET_DEFAULTS = {"block_out_channels": [32, 64], "layers_per_block": 1, "attention_levels": [], "norm_num_groups": 8}


def build_unet(config: dict[str, Any], class_embeds: int | None = None) -> UNet2DModel:
    """A ``UNet2DModel`` from a diffusers config (``config['unet']``) or from the plugin's size keys; with
    ``class_embeds``, a table of that many class embeddings added to the timestep embedding (diffusers'
    ``num_class_embeds``)."""
    from diffusers import UNet2DModel

    if "unet" in config:
        return UNet2DModel.from_config(config["unet"])
    sizes = {**UNET_DEFAULTS, **{k: config[k] for k in UNET_DEFAULTS if k in config}}
    levels = range(len(sizes["block_out_channels"]))
    attention = set(sizes["attention_levels"])
    return UNet2DModel(
        sample_size=config["image_size"],
        in_channels=config["channels"],
        out_channels=config["channels"],
        block_out_channels=tuple(sizes["block_out_channels"]),
        layers_per_block=sizes["layers_per_block"],
        down_block_types=tuple("AttnDownBlock2D" if i in attention else "DownBlock2D" for i in levels),
        up_block_types=tuple("AttnUpBlock2D" if i in attention else "UpBlock2D" for i in reversed(levels)),
        norm_num_groups=sizes["norm_num_groups"],
        attention_head_dim=8,
        num_class_embeds=class_embeds,
    )


class UNetDiffusion(PrecisionSetting, NetworkModel):
    """A noise-predicting U-Net ``eps(x_t, t)``; subclasses define the schedule, loss and sampler (and declare
    ``steps`` with the setting when their sampler takes a step count)."""

    capabilities = frozenset({"precision"})
    settings = {"precision": "fp32"}

    def build_networks(self, config: dict[str, Any]) -> dict[str, nn.Module]:
        return {"unet": build_unet(config)}

    @property
    def unet(self) -> UNet2DModel:
        return self.networks["unet"]

    def predict_noise(self, noisy: torch.Tensor, timesteps: torch.Tensor,
                      classes: torch.Tensor | None = None) -> torch.Tensor:
        """The U-Net's output for ``noisy`` images at (possibly fractional) ``timesteps`` (and ``classes``, for a
        U-Net with class embeddings), padded and cropped."""
        size = noisy.shape[-1]
        multiple = 2 ** (len(self.unet.config.block_out_channels) - 1)
        pad = -(-size // multiple) * multiple - size
        out = self.unet(F.pad(noisy, (0, pad, 0, pad)), timesteps, class_labels=classes).sample
        return out[..., :size, :size]

    @property
    @abstractmethod
    def network_evaluations(self) -> int:
        """U-Net forward passes per generated image (the sampler's step count)."""
