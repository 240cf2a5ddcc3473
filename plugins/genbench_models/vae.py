"""β-VAE (seed 002): 3-layer CNN encoder/decoder with 4x4 convolutions, latent 10, β = 5.

Loss = binary cross-entropy reconstruction (summed over pixels) + β·KL(q(z|x) || N(0, I)).
Images whose side is not a multiple of 8 are zero-padded up to one for the encoder and the
decoder's output is cropped back, so 16x16 digits and 28x28 Fashion-MNIST both fit.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from genbench.models.base import ModelSpec, SampleBatch, Task
from genbench.models.kit import NetworkModel, from_uint8, to_uint8
from genbench.registry.hookspecs import hookimpl


def _padded(size: int) -> int:
    return -(-size // 8) * 8


class Encoder(nn.Module):
    def __init__(self, channels: int, size: int, width: int, latent_dim: int):
        super().__init__()
        self.pad = _padded(size) - size
        self.convs = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(2 * width, 4 * width, 4, 2, 1), nn.ReLU(),
            nn.Flatten(),
        )
        flat = 4 * width * (_padded(size) // 8) ** 2
        self.mu = nn.Linear(flat, latent_dim)
        self.logvar = nn.Linear(flat, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.convs(F.pad(x, (0, self.pad, 0, self.pad)))
        return self.mu(h), self.logvar(h)


class Decoder(nn.Module):
    def __init__(self, channels: int, size: int, width: int, latent_dim: int):
        super().__init__()
        self.size, self.width, self.base = size, width, _padded(size) // 8
        self.fc = nn.Linear(latent_dim, 4 * width * self.base ** 2)
        self.deconvs = nn.Sequential(
            nn.ReLU(),
            nn.ConvTranspose2d(4 * width, 2 * width, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(width, channels, 4, 2, 1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Latents -> logits of pixel intensities in [0, 1]."""
        h = self.fc(z).view(-1, 4 * self.width, self.base, self.base)
        return self.deconvs(h)[:, :, : self.size, : self.size]


class BetaVAE(NetworkModel):
    """Unconditional β-VAE; samples decode standard-normal latents."""

    plugin_name = "vae"
    task = Task.UNCONDITIONAL
    capabilities = frozenset({"interpolation", "reconstruction"})

    def build_networks(self, config: dict[str, Any]) -> dict[str, nn.Module]:
        args = (config["channels"], config["image_size"], config["width"], config["latent_dim"])
        return {"encoder": Encoder(*args), "decoder": Decoder(*args)}

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance of images in [0, 1] (``labels`` are for conditional subclasses)."""
        return self.networks["encoder"](x)

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """Logits of pixel intensities for latents ``z`` (``labels`` are for conditional subclasses)."""
        return self.networks["decoder"](z)

    def loss(self, images: torch.Tensor, labels: torch.Tensor | None, captions: list[str] | None) -> torch.Tensor:
        x = from_uint8(images)
        mu, logvar = self.encode(x, labels)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        recon = F.binary_cross_entropy_with_logits(self.decode(z, labels), x, reduction="sum") / len(x)
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / len(x)
        return recon + self.config["beta"] * kl

    @torch.no_grad()
    def sample(self, batch: SampleBatch) -> torch.Tensor:
        z = batch.randn(self.config["latent_dim"])
        return to_uint8(torch.sigmoid(self.decode(z, self.sampling_classes(batch))))

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """Decode the posterior mean of each image (capability ``reconstruction``)."""
        mu, _ = self.networks["encoder"](from_uint8(images.to(self.device)))
        return to_uint8(torch.sigmoid(self.networks["decoder"](mu)))

    @torch.no_grad()
    def interpolate(self, start: torch.Tensor, end: torch.Tensor, steps: int) -> torch.Tensor:
        """Decode ``steps`` latents on the line between two images' posterior means (capability ``interpolation``)."""
        mu, _ = self.networks["encoder"](from_uint8(torch.stack([start, end]).to(self.device)))
        weights = torch.linspace(0, 1, steps, device=mu.device).unsqueeze(1)
        z = (1 - weights) * mu[0] + weights * mu[1]
        return to_uint8(torch.sigmoid(self.networks["decoder"](z)))


VAE = ModelSpec(
    name="vae",
    model_class=BetaVAE,
    description="β-VAE, 3-layer 4x4 CNN encoder/decoder, latent 10, β=5 (seed 002)",
    default_config={"latent_dim": 10, "beta": 5.0, "width": 32},
    tiny_config={"latent_dim": 4, "beta": 5.0, "width": 4},
)


@hookimpl
def genbench_models():
    return [VAE]
