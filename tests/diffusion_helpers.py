"""Tiny diffusion models and a reduced digits protocol shared by the diffusion tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from genbench.models.base import ImageFormat, SampleBatch, TrainingData
from genbench.protocols.protocol import builtin_protocol_files
from genbench.registry import get_registry

DEVICE = torch.device("cpu")
DIFFUSION_PLUGINS = ("ddpm", "ddim", "ddim-cosine")
#: A few steps on 32 digits: enough to move the weights, seconds on 2 cores.
TINY_RECIPE = {"epochs": 1, "batch_size": 8, "lr": 1e-3, "max_steps": 4}


@pytest.fixture(scope="module")
def one_thread():
    """Tiny U-Nets gain nothing from threads, and on a busy 2-core machine OpenMP spinning makes
    them tens of times slower; run them on one thread and restore the setting afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def digits_subset(count: int = 32, size: int = 12) -> TrainingData:
    from genbench.datasets.base import DataRequest
    from genbench.datasets.digits import load_digits_split

    data = load_digits_split(DataRequest("train", size, 1))
    return TrainingData(data.images[:count], data.labels[:count], None, 10)


def tiny_model(plugin: str, size: int = 12, **settings):
    """A tiny-config model of ``plugin`` trained for a few steps, with ``settings`` applied."""
    spec = get_registry().model(plugin).item
    torch.manual_seed(0)
    model = spec.model_class.create(ImageFormat(size, 1), spec.tiny_config)
    model.train(digits_subset(size=size), TINY_RECIPE, seed=0, device=DEVICE, progress=False)
    model.configure(**settings)
    return model


def sample(model, seeds: list[int]) -> torch.Tensor:
    return model.sample(SampleBatch(seeds, DEVICE))


#: The tiny recipe configs of ``small_digits_protocol``: a 10-step schedule on the tiniest U-Net.
TINY_UNET = ('{ block_out_channels = [8, 16], attention_levels = [], norm_num_groups = 4, '
             'num_train_timesteps = 10, beta_start = 0.002, beta_end = 0.5 }')
TINY_RECIPE_CONFIGS = {"ddim-cosine": "{ block_out_channels = [8, 16], attention_levels = [], norm_num_groups = 4 }",
                       "cvae": "{ latent_dim = 4, width = 8 }"}


def small_digits_protocol(tmp_path: Path, protocol: str = "digits",
                          plugins: tuple[str, ...] = ("ddpm", "ddim", "ddim-cosine")) -> Path:
    """digits.toml (or another shipped digits protocol) with tiny recipes for ``plugins`` and a short speed section.

    The recipes are outside the fingerprint; the speed section is not, so results of this
    file are never ranked with the standard protocol's.
    """
    source = next(p for p in builtin_protocol_files() if p.name == f"{protocol}.toml").read_text(encoding="utf-8")
    head = source[: source.index("[training.")]
    head = head.replace("batch_sizes = [1, 250]", "batch_sizes = [1, 100]").replace("warmup = 2", "warmup = 0")
    recipes = "".join(f"\n[training.{plugin}]\nepochs = 1\nbatch_size = 64\nlr = 0.002\nmax_steps = 3\n"
                      f"config = {TINY_RECIPE_CONFIGS.get(plugin, TINY_UNET)}\n" for plugin in plugins)
    path = tmp_path / f"{protocol}-small.toml"
    path.write_text(head + recipes, encoding="utf-8")
    return path
