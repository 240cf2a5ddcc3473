"""Conditional β-VAE (Sohn et al. 2015 with seed 002's β-VAE): the class conditions encoder and decoder.

The encoder sees the image with K one-hot class planes appended (q(z | x, y)); the decoder sees the
latent with the one-hot class appended (p(x | z, y)); the prior stays N(0, I). Loss and networks are
the β-VAE's (``genbench_models.vae``), so the two differ only by the class input. Samples decode a
standard-normal latent (from image i's generator) with the class image i is asked for.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from genbench.models.base import ModelSpec, Task
from genbench.registry.hookspecs import hookimpl
from genbench_models.vae import VAE, BetaVAE, Decoder, Encoder


class ConditionalVAE(BetaVAE):
    """β-VAE whose encoder and decoder take the class as a one-hot input."""

    plugin_name = "cvae"
    task = Task.CLASS_CONDITIONAL
    capabilities = frozenset()

    def build_networks(self, config: dict[str, Any]) -> dict[str, nn.Module]:
        classes = self.num_classes
        channels, size, width, latent = config["channels"], config["image_size"], config["width"], config["latent_dim"]
        return {"encoder": Encoder(channels + classes, size, width, latent),
                "decoder": Decoder(channels, size, width, latent + classes)}

    def one_hot(self, labels: torch.Tensor) -> torch.Tensor:
        return F.one_hot(labels.long(), self.num_classes).float()

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        planes = self.one_hot(labels)[:, :, None, None].expand(-1, -1, *x.shape[2:])
        return self.networks["encoder"](torch.cat([x, planes], dim=1))

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self.networks["decoder"](torch.cat([z, self.one_hot(labels)], dim=1))


CVAE = ModelSpec(
    name="cvae",
    model_class=ConditionalVAE,
    description="conditional β-VAE: seed 002's β-VAE with a one-hot class into encoder and decoder",
    default_config=VAE.default_config,
    tiny_config=VAE.tiny_config,
)


@hookimpl
def genbench_models():
    return [CVAE]
