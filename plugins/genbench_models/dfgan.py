"""DF-GAN (Tao et al. 2022): one-stage text-to-image GAN with deep text-image fusion.

Generator: noise -> FC -> 4x4 map -> G-blocks (nearest 2x upsampling, two convolutions each
preceded by a DFBlock fusing the concatenated noise and sentence vector) -> LeakyReLU, 3x3
conv, tanh. Discriminator: 3x3 conv -> residual DownBlocks to 4x4 -> one-way output (the 4x4
features concatenated with the tiled sentence vector, two convolutions to one score). Hinge
losses with mismatched captions and MA-GP (k = 2, p = 6); Adam (β = 0, 0.9), lr G 1e-4,
D 4e-4. Text encoder: the frozen CLIP text tower (ViT-B/32 by default), not the paper's
DAMSM RNN.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from genbench.models.base import ModelSpec
from genbench.registry.hookspecs import hookimpl
from genbench_models.dfblock import FusedConvBlock
from genbench_models.gan import AdversarialParts, TextConditionalGAN, pyramid_channels
from genbench_models.textenc import CLIP_DEFAULTS


def upsampling_blocks(image_size: int) -> int:
    """How many 2x stages take a 4x4 map to ``image_size``."""
    return max(1, math.ceil(math.log2(image_size / 4)))


class Generator(nn.Module):
    def __init__(self, noise_dim: int, cond_dim: int, width: int, image_size: int, channels: int):
        super().__init__()
        blocks = upsampling_blocks(image_size)
        chans = pyramid_channels(width, blocks)
        sizes = [min(4 * 2 ** (i + 1), image_size) for i in range(blocks - 1)] + [image_size]
        self.base = chans[0]
        self.fc = nn.Linear(noise_dim, chans[0] * 4 * 4)
        self.blocks = nn.ModuleList(FusedConvBlock(noise_dim + cond_dim, chans[i], chans[i + 1], size=sizes[i])
                                    for i in range(blocks))
        self.to_rgb = nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(chans[-1], channels, 3, 1, 1), nn.Tanh())

    def forward(self, noise: torch.Tensor, sentences: torch.Tensor) -> torch.Tensor:
        cond = torch.cat([noise, sentences], dim=1)
        h = self.fc(noise).view(len(noise), self.base, 4, 4)
        for block in self.blocks:
            h = block(h, cond)
        return self.to_rgb(h)


class DownBlock(nn.Module):
    """Residual 2x downsampling block; the residual branch enters through a learned gate starting at 0."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.residual = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
            nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False), nn.LeakyReLU(0.2))
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(self.shortcut(x), 2) + self.gamma * self.residual(x)


class Discriminator(nn.Module):
    """DownBlocks to a 4x4 map, then the one-way conditional output ``D(x, e)``."""

    def __init__(self, cond_dim: int, width: int, image_size: int, channels: int):
        super().__init__()
        blocks = upsampling_blocks(image_size)
        chans = pyramid_channels(width, blocks)[::-1]
        self.input_size = 4 * 2 ** blocks
        self.conv_img = nn.Conv2d(channels, chans[0], 3, 1, 1)
        self.blocks = nn.Sequential(*(DownBlock(chans[i], chans[i + 1]) for i in range(blocks)))
        self.joint = nn.Sequential(
            nn.Conv2d(chans[-1] + cond_dim, width * 2, 3, 1, 1, bias=False), nn.LeakyReLU(0.2),
            nn.Conv2d(width * 2, 1, 4, 1, 0, bias=False))

    def forward(self, images: torch.Tensor, sentences: torch.Tensor) -> torch.Tensor:
        if images.shape[-1] != self.input_size:
            images = F.interpolate(images, size=(self.input_size, self.input_size), mode="bilinear",
                                   align_corners=False)
        h = self.blocks(self.conv_img(images))
        tiled = sentences[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        return self.joint(torch.cat([h, tiled], dim=1)).flatten()


class DFGAN(TextConditionalGAN):
    """DF-GAN generator and discriminator conditioned on frozen CLIP sentence vectors."""

    plugin_name = "dfgan"

    def build_networks(self, config: dict[str, Any]) -> dict[str, nn.Module]:
        text = self.load_text_encoder(config)
        size, channels = config["image_size"], config["channels"]
        return {
            "generator": Generator(config["noise_dim"], text.sentence_dim, config["width_g"], size, channels),
            "discriminator": Discriminator(text.sentence_dim, config["width_d"], size, channels),
        }

    def parts(self) -> AdversarialParts:
        return AdversarialParts(
            encode=self.text_encoder.sentences,
            generate=self.generate,
            observe=lambda images: (images, None),
            judge=self.networks["discriminator"],
            noise_dim=self.config["noise_dim"],
            gp_k=self.config["gp_k"], gp_p=self.config["gp_p"],
        )


DFGAN_SPEC = ModelSpec(
    name="dfgan",
    model_class=DFGAN,
    description="DF-GAN (Tao et al. 2022): DFBlock generator, one-way discriminator, MA-GP; frozen CLIP text tower",
    default_config={**CLIP_DEFAULTS, "noise_dim": 100, "width_g": 32, "width_d": 32, "gp_k": 2.0, "gp_p": 6.0},
    tiny_config={"noise_dim": 8, "width_g": 4, "width_d": 4, "gp_k": 2.0, "gp_p": 6.0},
)


@hookimpl
def genbench_models():
    return [DFGAN_SPEC]
