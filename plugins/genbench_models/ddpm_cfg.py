"""Class-conditional DDPM with classifier-free guidance (Ho & Salimans 2022): DDPM's U-Net with class embeddings.

The U-Net (``genbench_models.diffusion``) gets a table of K + 1 class embeddings (diffusers'
``num_class_embeds``) added to its timestep embedding; row K is the null class. In training each
image's class is replaced by the null class with probability ``condition_dropout`` (config, default
0.1), so one network learns both ε(x, t, y) and ε(x, t). Sampling follows DDPM's scheduler with the
guided estimate ε(x, t, ∅) + w · (ε(x, t, y) − ε(x, t, ∅)), w the ``guidance`` setting: 1 is the
conditional model alone (one U-Net pass per step), 0 the unconditional one, any other w both passes
(run as one batch of 2N). Everything random while sampling comes from the per-image generators.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from genbench.errors import PluginError, WeightsError
from genbench.models.base import ModelSpec, Task
from genbench.registry.hookspecs import hookimpl
from genbench_models.ddpm import DDPM, DIFFUSION_CONFIG, TINY_CONFIG
from genbench_models.diffusion import build_unet

#: Share of training images whose class is replaced by the null class (the paper's p_uncond).
GUIDED_CONFIG = {"condition_dropout": 0.1}


class GuidedDDPM(DDPM):
    """DDPM conditioned on the class through a class embedding, sampled with classifier-free guidance."""

    plugin_name = "ddpm-cfg"
    task = Task.CLASS_CONDITIONAL
    capabilities = frozenset({"guidance", "precision"})
    settings = {"guidance": 2.0, "precision": "fp32"}

    def build_networks(self, config: dict[str, Any]) -> dict[str, nn.Module]:
        return {"unet": build_unet(config, class_embeds=self.num_classes + 1)}

    @property
    def null_class(self) -> int:
        """The embedding row of "no class", the unconditional model's input."""
        return self.num_classes

    @classmethod
    def check_settings(cls, values: dict[str, Any], config: dict[str, Any] | None = None) -> None:
        """The declared settings' types, and a guidance scale that is not negative (checked before any training)."""
        super().check_settings(values, config)
        if float(values.get("guidance", 1.0)) < 0:
            raise PluginError(f"setting guidance={values['guidance']} must not be negative "
                              f"(1: the conditional model alone, 0: the unconditional one)")

    def training_classes(self, labels: torch.Tensor | None) -> torch.Tensor:
        """The labels with a ``condition_dropout`` share replaced by the null class (drawn from the seeded loop)."""
        if labels is None:
            raise PluginError(f"plugin '{self.plugin_name}' trains on labelled images; the training split has none")
        dropped = torch.rand(len(labels), device=labels.device) < float(self.config["condition_dropout"])
        return torch.where(dropped, torch.full_like(labels, self.null_class), labels)

    def guided_noise(self, images: torch.Tensor, step: torch.Tensor, classes: torch.Tensor | None) -> torch.Tensor:
        """ε(x, t, ∅) + w · (ε(x, t, y) − ε(x, t, ∅)), with one U-Net pass where w is 1 or 0."""
        scale = float(self.setting_values["guidance"])
        null = torch.full_like(classes, self.null_class)
        if scale in (0.0, 1.0):
            return self.predict_noise(images, step, classes if scale else null)
        conditional, unconditional = self.predict_noise(torch.cat([images, images]), step,
                                                        torch.cat([classes, null])).chunk(2)
        return unconditional + scale * (conditional - unconditional)

    @property
    def network_evaluations(self) -> int:
        """The scheduler's steps, twice where guidance runs both passes."""
        return super().network_evaluations * (1 if float(self.setting_values["guidance"]) in (0.0, 1.0) else 2)

    @classmethod
    def from_pretrained(cls, name: str) -> "GuidedDDPM":
        """Not for published pipelines: the null class and the guidance are genbench's own convention."""
        raise WeightsError(f"plugin '{cls.plugin_name}' reads genbench checkpoints (.safetensors) only, not diffusers "
                           f"pipelines such as '{Path(name).name}': their class embeddings follow no shared "
                           f"null-class convention")


DDPM_CFG = ModelSpec(
    name="ddpm-cfg",
    model_class=GuidedDDPM,
    description="class-conditional DDPM: U-Net with class embeddings, condition dropout 0.1, classifier-free "
                "guidance (setting guidance)",
    default_config={**DIFFUSION_CONFIG, **GUIDED_CONFIG},
    tiny_config={**TINY_CONFIG, **GUIDED_CONFIG},
)


@hookimpl
def genbench_models():
    return [DDPM_CFG]
