"""DDPM (Ho et al. 2020; seed 002): the discrete noise schedule and training that ``ddim`` shares.

DDPM and DDIM train the same way: a U-Net predicts the noise added at a uniformly drawn step t of a
linear β schedule (1e-4 .. 0.02 over T = 1000), loss MSE(ε, ε̂), images scaled to [-1, 1].
They differ only in the diffusers scheduler that samples: ``DDPMScheduler`` walks all T
ancestral steps; ``DDIMScheduler`` takes ``steps`` steps with noise scale ``eta``. So a ddim
run can evaluate a ddpm checkpoint, and both load published diffusers pipelines
(``save_pretrained`` directories with ``unet/`` and ``scheduler/``, or a hub id ``org/name[@revision]``, read
from the Hugging Face cache offline and downloaded when online: ``genbench_models.pipeline_source``).
Every random draw while sampling comes from the per-image generators, so image i depends
only on its seed, whatever the batch size.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from genbench.errors import WeightsError
from genbench.models.base import ModelSpec, SampleBatch, Task
from genbench.models.kit import from_uint8, to_uint8
from genbench.registry.hookspecs import hookimpl
from genbench.storage.downloads import failure_reason
from genbench_models.diffusion import UNetDiffusion
from genbench_models.pipeline_source import HUB_ID, PipelineSource

if TYPE_CHECKING:  # diffusers takes seconds to import: only where a model is built
    from diffusers import DDPMScheduler, DiffusionPipeline
    from diffusers.schedulers.scheduling_utils import SchedulerMixin

#: The schedule of both papers; a config may change it (the tiny test config uses fewer steps).
LINEAR_SCHEDULE = {"num_train_timesteps": 1000, "beta_start": 1e-4, "beta_end": 0.02}


class DDPM(UNetDiffusion):
    """Noise-predicting U-Net on a discrete linear-β schedule, sampled ancestrally over all T steps."""

    plugin_name = "ddpm"
    task = Task.UNCONDITIONAL

    def scheduler_config(self) -> dict[str, Any]:
        """The diffusers scheduler config: a loaded pipeline's own, else the plugin config's linear schedule."""
        if "scheduler" in self.config:
            return dict(self.config["scheduler"])
        return {key: self.config.get(key, default) for key, default in LINEAR_SCHEDULE.items()} | {
            "beta_schedule": "linear"}

    @functools.cached_property
    def training_scheduler(self) -> DDPMScheduler:
        from diffusers import DDPMScheduler

        return DDPMScheduler.from_config(self.scheduler_config())

    def sampling_scheduler(self) -> SchedulerMixin:
        """The scheduler that samples, with its timesteps set."""
        from diffusers import DDPMScheduler

        scheduler = DDPMScheduler.from_config(self.scheduler_config())
        scheduler.set_timesteps(scheduler.config.num_train_timesteps)
        return scheduler

    def step_options(self) -> dict[str, Any]:
        """Extra keyword arguments of the scheduler's ``step`` (DDIM's ``eta``)."""
        return {}

    @property
    def network_evaluations(self) -> int:
        return int(self.scheduler_config()["num_train_timesteps"])

    def loss(self, images: torch.Tensor, labels: torch.Tensor | None, captions: list[str] | None) -> torch.Tensor:
        clean = from_uint8(images, -1.0, 1.0)
        scheduler = self.training_scheduler
        noise = torch.randn_like(clean)
        steps = torch.randint(0, scheduler.config.num_train_timesteps, (len(clean),), device=clean.device)
        noisy = scheduler.add_noise(clean, noise, steps)
        return F.mse_loss(self.predict_noise(noisy, steps, self.training_classes(labels)), noise)

    def training_classes(self, labels: torch.Tensor | None) -> torch.Tensor | None:
        """The classes the U-Net sees in training (None: an unconditional U-Net)."""
        return None

    def guided_noise(self, images: torch.Tensor, step: torch.Tensor, classes: torch.Tensor | None) -> torch.Tensor:
        """The noise estimate one sampling step uses (the U-Net's own, for an unconditional model)."""
        return self.predict_noise(images, step)

    @torch.no_grad()
    def sample(self, batch: SampleBatch) -> torch.Tensor:
        scheduler = self.sampling_scheduler()
        generators = batch.generators()
        fmt = self.image_format
        classes = self.sampling_classes(batch)
        images = batch.randn(fmt.channels, fmt.size, fmt.size, generators=generators)
        for step in scheduler.timesteps:
            noise = self.guided_noise(images, step, classes)
            images = scheduler.step(noise, step, images, generator=generators, **self.step_options()).prev_sample
        return to_uint8(images, -1.0, 1.0)

    @classmethod
    def load(cls, path: Path, device: torch.device) -> "DDPM":
        """A genbench checkpoint, a diffusers pipeline directory, or a hub id (from the cache offline)."""
        path = Path(path)
        if path.is_dir() or (not path.exists() and path.suffix != ".safetensors" and HUB_ID.match(str(path))):
            return cls.from_pretrained(str(path)).to(device).eval()
        return super().load(path, device)

    @classmethod
    def from_pretrained(cls, name: str) -> "DDPM":
        """Load the U-Net and scheduler config of a diffusers pipeline folder or hub id (safetensors only)."""
        from diffusers import DiffusionPipeline

        folder = PipelineSource.parse(name).folder()  # a hub id: the cached snapshot, downloaded when online
        try:
            pipeline = DiffusionPipeline.from_pretrained(str(folder), use_safetensors=True)  # never unpickle
        except (OSError, ValueError) as exc:
            raise WeightsError(f"cannot load diffusers pipeline '{name}': {failure_reason(exc)}") from None
        return cls.from_components(pipeline, name)

    @classmethod
    def from_components(cls, pipeline: DiffusionPipeline, name: str) -> "DDPM":
        """A genbench model holding a loaded pipeline's U-Net weights and scheduler config."""
        from diffusers import UNet2DModel

        unet = getattr(pipeline, "unet", None)
        if not isinstance(unet, UNet2DModel) or not hasattr(pipeline, "scheduler"):
            raise WeightsError(f"diffusers pipeline '{name}' has no pixel-space UNet2DModel and scheduler "
                               f"(found components: {', '.join(sorted(pipeline.components))})")
        model = cls({"unet": dict(unet.config), "scheduler": dict(pipeline.scheduler.config),
                     "image_size": int(unet.config.sample_size), "channels": int(unet.config.in_channels),
                     "pretrained": name})
        model.unet.load_state_dict(unet.state_dict())
        return model


DIFFUSION_CONFIG = {"block_out_channels": [32, 64], "layers_per_block": 1, "attention_levels": [],
                    "norm_num_groups": 8, **LINEAR_SCHEDULE}
TINY_CONFIG = {"block_out_channels": [8, 16], "layers_per_block": 1, "attention_levels": [1],
               "norm_num_groups": 4, "num_train_timesteps": 20, "beta_start": 1e-3, "beta_end": 0.4}

DDPM_SPEC = ModelSpec(
    name="ddpm",
    model_class=DDPM,
    description="DDPM: diffusers UNet2DModel predicting noise, linear β 1e-4..0.02, T=1000, ancestral sampling",
    default_config=DIFFUSION_CONFIG,
    tiny_config=TINY_CONFIG,
)


@hookimpl
def genbench_models():
    return [DDPM_SPEC]
