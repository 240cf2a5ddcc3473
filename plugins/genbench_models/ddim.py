"""DDIM (Song et al. 2021): DDPM's model and training, sampled in ``steps`` steps with noise scale ``eta``.

η = 0 is deterministic, η = 1 is DDPM-like; for η > 0 the extra noise is drawn from the
per-image generators like DDPM's, so samples never depend on the batch size. A ddim run
can evaluate a ddpm checkpoint (same network, same schedule).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from genbench.errors import PluginError
from genbench.models.base import ModelSpec
from genbench.registry.hookspecs import hookimpl
from genbench_models.ddpm import DDPM, DIFFUSION_CONFIG, LINEAR_SCHEDULE, TINY_CONFIG

if TYPE_CHECKING:  # diffusers takes seconds to import: only where a model samples
    from diffusers.schedulers.scheduling_utils import SchedulerMixin


class DDIM(DDPM):
    """DDPM's model sampled by DDIM: ``steps`` steps, η = ``eta`` (0 deterministic, 1 DDPM-like)."""

    plugin_name = "ddim"
    loads_checkpoints_of = ("ddpm",)
    capabilities = frozenset({"steps", "eta", "precision"})
    settings = {"steps": 50, "eta": 0.0, "precision": "fp32"}

    @classmethod
    def check_settings(cls, values: dict[str, Any], config: dict[str, Any] | None = None) -> None:
        """Refuse a step count the schedule of the model about to be trained does not have, before training."""
        super().check_settings(values, config)
        if config is not None:
            chosen = cls.settings_with(values)
            cls.check_schedule(chosen["steps"], chosen["eta"], config.get("num_train_timesteps",
                                                                           LINEAR_SCHEDULE["num_train_timesteps"]))

    @staticmethod
    def check_schedule(steps: int, eta: float, total: int) -> None:
        """``steps`` within the ``total`` training steps, ``eta`` not negative; else one line."""
        if not 1 <= steps <= total:
            raise PluginError(f"ddim setting steps={steps} must lie between 1 and the model's {total} training steps")
        if eta < 0:
            raise PluginError(f"ddim setting eta={eta} must not be negative")

    def configure(self, **values: Any) -> None:
        """Apply ``steps`` / ``eta`` and refuse values the scheduler cannot use, before any sampling."""
        super().configure(**values)
        self.check_schedule(self.setting_values["steps"], self.setting_values["eta"],
                            self.scheduler_config()["num_train_timesteps"])

    def sampling_scheduler(self) -> SchedulerMixin:
        from diffusers import DDIMScheduler

        scheduler = DDIMScheduler.from_config(self.scheduler_config())
        scheduler.set_timesteps(self.setting_values["steps"])
        return scheduler

    def step_options(self) -> dict[str, Any]:
        return {"eta": float(self.setting_values["eta"])}

    @property
    def network_evaluations(self) -> int:
        return int(self.setting_values["steps"])


DDIM_SPEC = ModelSpec(
    name="ddim",
    model_class=DDIM,
    description="DDIM sampling (settings steps, eta) of a DDPM-trained U-Net; loads ddpm checkpoints",
    default_config=DIFFUSION_CONFIG,
    tiny_config=TINY_CONFIG,
)


@hookimpl
def genbench_models():
    return [DDIM_SPEC]
