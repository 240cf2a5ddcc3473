"""Seed 000's continuous-time DDIM, as in the Keras example "Denoising Diffusion Implicit Models".

Images in [0, 1] are normalised per channel to zero mean / unit variance (statistics of the
training set, stored in the checkpoint). A diffusion time t ∈ [0, 1] maps to an angle between
acos(max_signal_rate) and acos(min_signal_rate) (0.95 and 0.02): signal = cos, noise = sin,
so signal² + noise² = 1. The U-Net predicts the noise from the noisy image and the noise
variance (passed as its timestep, scaled by 1000 so its sinusoidal embedding spans the
range it has for discrete steps); the loss is the mean absolute error. Sampling is the
example's deterministic reverse diffusion in ``steps`` equal time steps.

It is a plugin of its own rather than a mode of ``ddim`` because both its training objective
and its sampler differ, and it has no η: settings are declared per model class, so
``--set eta=...`` is refused here instead of being silently ignored.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from genbench.errors import PluginError
from genbench.models.base import ModelSpec, SampleBatch, Task, TrainingData, TrainingReport
from genbench.models.kit import from_uint8, to_uint8
from genbench.registry.hookspecs import hookimpl
from genbench_models.diffusion import UNetDiffusion

TIMESTEP_SCALE = 1000.0


class ChannelNormalizer(nn.Module):
    """Per-channel mean and standard deviation of the training images (buffers, saved with the model)."""

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(channels, 1, 1))
        self.register_buffer("std", torch.ones(channels, 1, 1))

    @torch.no_grad()
    def adapt(self, images: torch.Tensor) -> None:
        """Set the statistics from uint8 images (computed in float64)."""
        values = from_uint8(images).double().transpose(0, 1).flatten(1)
        self.mean.copy_(values.mean(1).view_as(self.mean))
        self.std.copy_(values.std(1).clamp_min(1e-6).view_as(self.std))

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        return (images - self.mean) / self.std

    def denormalize(self, images: torch.Tensor) -> torch.Tensor:
        return images * self.std + self.mean


class CosineDDIM(UNetDiffusion):
    """Continuous cosine schedule bounded by min/max signal rates, MAE on noise, deterministic DDIM."""

    plugin_name = "ddim-cosine"
    task = Task.UNCONDITIONAL
    capabilities = frozenset({"steps", "precision"})
    settings = {"steps": 20, "precision": "fp32"}

    def build_networks(self, config: dict[str, Any]) -> dict[str, nn.Module]:
        return {**super().build_networks(config), "normalizer": ChannelNormalizer(config["channels"])}

    def trainable_modules(self) -> dict[str, nn.Module]:
        return {"unet": self.unet}

    def rates(self, times: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(noise rate, signal rate) at diffusion times in [0, 1]."""
        start = math.acos(self.config["max_signal_rate"])
        end = math.acos(self.config["min_signal_rate"])
        angles = start + times * (end - start)
        return angles.sin(), angles.cos()

    def denoise(self, noisy: torch.Tensor, noise_rates: torch.Tensor,
                signal_rates: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Predicted noise and predicted clean (normalised) images."""
        noise = self.predict_noise(noisy, noise_rates.flatten() ** 2 * TIMESTEP_SCALE)
        return noise, (noisy - noise_rates * noise) / signal_rates

    def train(self, data: TrainingData, recipe: dict[str, Any], seed: int, device: torch.device,
              progress: bool = True) -> TrainingReport:
        self.networks["normalizer"].adapt(data.images)
        return super().train(data, recipe, seed, device, progress)

    def loss(self, images: torch.Tensor, labels: torch.Tensor | None, captions: list[str] | None) -> torch.Tensor:
        clean = self.networks["normalizer"].normalize(from_uint8(images))
        noise = torch.randn_like(clean)
        noise_rates, signal_rates = self.rates(torch.rand(len(clean), 1, 1, 1, device=clean.device))
        predicted, _ = self.denoise(signal_rates * clean + noise_rates * noise, noise_rates, signal_rates)
        return F.l1_loss(predicted, noise)

    def configure(self, **values: Any) -> None:
        super().configure(**values)
        if self.setting_values["steps"] < 1:
            raise PluginError(f"ddim-cosine setting steps={self.setting_values['steps']} must be at least 1")

    @torch.no_grad()
    def sample(self, batch: SampleBatch) -> torch.Tensor:
        fmt = self.image_format
        noisy = batch.randn(fmt.channels, fmt.size, fmt.size)
        steps = self.setting_values["steps"]
        ones = torch.ones(len(batch), 1, 1, 1, device=noisy.device)
        for step in range(steps):
            times = ones * (1.0 - step / steps)
            noise, clean = self.denoise(noisy, *self.rates(times))
            next_noise_rates, next_signal_rates = self.rates(times - 1.0 / steps)
            noisy = next_signal_rates * clean + next_noise_rates * noise
        return to_uint8(self.networks["normalizer"].denormalize(clean))

    @property
    def network_evaluations(self) -> int:
        return int(self.setting_values["steps"])


DDIM_COSINE = ModelSpec(
    name="ddim-cosine",
    model_class=CosineDDIM,
    description="seed 000's continuous-time DDIM (Keras example): cosine rates in [0.02, 0.95], MAE, deterministic",
    default_config={"block_out_channels": [32, 64], "layers_per_block": 1, "attention_levels": [],
                    "norm_num_groups": 8, "min_signal_rate": 0.02, "max_signal_rate": 0.95},
    tiny_config={"block_out_channels": [8, 16], "layers_per_block": 1, "attention_levels": [1],
                 "norm_num_groups": 4, "min_signal_rate": 0.02, "max_signal_rate": 0.95},
)


@hookimpl
def genbench_models():
    return [DDIM_COSINE]
