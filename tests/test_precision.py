"""``--set precision=fp16|bf16|fp32``: the plugin's networks sample under autocast, the noise and the extractors do not."""

from __future__ import annotations

import pytest
import torch
from tests_support import FAST

import genbench
from genbench.errors import PluginError
from genbench.models.base import ImageFormat, SampleBatch
from genbench.registry import get_registry
from genbench.runner.plugin_calls import draw


def tiny_ddim(**settings):
    spec = get_registry().model("ddim").item
    torch.manual_seed(0)
    model = spec.model_class.create(ImageFormat(16, 1), dict(spec.tiny_config))
    model.configure(steps="3", **settings)
    return model


def unet_output_dtypes(model) -> list[torch.dtype]:
    seen: list[torch.dtype] = []
    model.networks["unet"].register_forward_hook(lambda module, inputs, output: seen.append(output.sample.dtype))
    return seen


def test_bf16_runs_the_network_in_bf16_from_the_same_noise():
    batch = SampleBatch(list(range(8)), torch.device("cpu"))
    full, half = tiny_ddim(), tiny_ddim(precision="bf16")
    full_dtypes, half_dtypes = unet_output_dtypes(full), unet_output_dtypes(half)
    full_images, half_images = draw(full, "ddim", batch), draw(half, "ddim", batch)
    assert set(full_dtypes) == {torch.float32} and set(half_dtypes) == {torch.bfloat16}
    assert half_images.dtype == torch.uint8 and not torch.equal(full_images, half_images)
    assert (full_images.float() - half_images.float()).abs().mean() < 8  # same noise, rounded network


def test_an_unknown_precision_is_refused_before_training(tmp_path):
    with pytest.raises(PluginError, match="^plugin 'ddim': setting 'precision' must be one of fp32, fp16, bf16, "
                                          "got 'fp64'$"):
        genbench.run(plugin="ddim", protocol="digits", results_dir=tmp_path, quiet=True,
                     settings={**FAST, "precision": "fp64"})
    assert not (tmp_path / "checkpoints").exists()


def test_plugins_without_the_capability_refuse_the_setting(tmp_path):
    with pytest.raises(PluginError, match="unknown setting 'precision'"):
        genbench.run(plugin="vae", protocol="digits", results_dir=tmp_path, quiet=True,
                     settings={**FAST, "precision": "bf16"})
