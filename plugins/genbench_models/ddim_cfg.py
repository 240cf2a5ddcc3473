"""Class-conditional DDIM with classifier-free guidance: ``ddpm-cfg``'s model sampled by DDIM.

Training, network and guidance are ``genbench_models.ddpm_cfg``'s; sampling is ``genbench_models.ddim``'s
(``steps`` steps, noise scale ``eta``), so a ddim-cfg run can evaluate a ddpm-cfg checkpoint.
"""

from __future__ import annotations

from genbench.models.base import ModelSpec
from genbench.registry.hookspecs import hookimpl
from genbench_models.ddim import DDIM
from genbench_models.ddpm_cfg import DDPM_CFG, GuidedDDPM


class GuidedDDIM(GuidedDDPM, DDIM):
    """ddpm-cfg's class-conditional U-Net, sampled by DDIM with classifier-free guidance."""

    plugin_name = "ddim-cfg"
    loads_checkpoints_of = ("ddpm-cfg",)
    capabilities = frozenset({"steps", "eta", "guidance", "precision"})
    settings = {"steps": 50, "eta": 0.0, "guidance": 2.0, "precision": "fp32"}


DDIM_CFG = ModelSpec(
    name="ddim-cfg",
    model_class=GuidedDDIM,
    description="class-conditional DDIM (settings steps, eta, guidance) of a ddpm-cfg-trained U-Net; loads "
                "ddpm-cfg checkpoints",
    default_config=DDPM_CFG.default_config,
    tiny_config=DDPM_CFG.tiny_config,
)


@hookimpl
def genbench_models():
    return [DDIM_CFG]
