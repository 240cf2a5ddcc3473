"""ddpm, ddim and ddim-cosine: seeded sampling, checkpoints, settings and batch-size independence."""

from __future__ import annotations

import math

import pytest
import torch
from diffusion_helpers import DEVICE, DIFFUSION_PLUGINS, TINY_RECIPE, digits_subset, one_thread, sample, tiny_model

from genbench.errors import PluginError, WeightsError
from genbench.registry import get_registry

SEEDS = [11, 12, 13, 14]
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def trained():
    """One tiny trained model per plugin (ddim with 5 steps, ddim-cosine with 4)."""
    settings = {"ddpm": {}, "ddim": {"steps": "5"}, "ddim-cosine": {"steps": "4"}}
    return {plugin: tiny_model(plugin, **settings[plugin]) for plugin in DIFFUSION_PLUGINS}


@pytest.mark.parametrize("plugin", DIFFUSION_PLUGINS)
def test_same_seed_same_images_other_seed_other_images(trained, plugin):
    model = trained[plugin]
    first, again = sample(model, SEEDS), sample(model, SEEDS)
    assert first.dtype == torch.uint8 and first.shape == (4, 1, 12, 12)
    assert torch.equal(first, again)
    other = sample(model, [21, 22, 23, 24])
    assert (first.float() - other.float()).abs().mean() > 5


@pytest.mark.parametrize("plugin", DIFFUSION_PLUGINS)
def test_images_do_not_depend_on_the_batch_size(trained, plugin):
    model = trained[plugin]
    whole = sample(model, SEEDS)
    pieces = torch.cat([sample(model, SEEDS[:1]), sample(model, SEEDS[1:3]), sample(model, SEEDS[3:])])
    assert torch.equal(whole, pieces)


def test_ddim_with_eta_one_keeps_drawing_per_image_noise(trained):
    model = trained["ddim"]
    model.configure(eta="1.0")
    try:
        stochastic = sample(model, SEEDS)
        pieces = torch.cat([sample(model, SEEDS[:3]), sample(model, SEEDS[3:])])
        assert torch.equal(stochastic, pieces)
        model.configure(eta="0.0")
        assert not torch.equal(stochastic, sample(model, SEEDS))
    finally:
        model.configure(eta="0.0")


@pytest.mark.parametrize("plugin", DIFFUSION_PLUGINS)
def test_checkpoint_round_trip_gives_identical_samples(trained, plugin, tmp_path):
    model = trained[plugin]
    path = tmp_path / f"{plugin}.safetensors"
    model.save(path)
    loaded = get_registry().model(plugin).item.model_class.load(path, DEVICE)
    loaded.configure(**{k: str(v) for k, v in model.setting_values.items()})
    assert loaded.config == model.config
    assert torch.equal(sample(loaded, SEEDS), sample(model, SEEDS))


def test_ddim_samples_a_ddpm_checkpoint_and_ddpm_refuses_a_ddim_one(trained, tmp_path):
    ddpm_path, ddim_path = tmp_path / "ddpm.safetensors", tmp_path / "ddim.safetensors"
    trained["ddpm"].save(ddpm_path)
    trained["ddim"].save(ddim_path)
    ddim_cls, ddpm_cls = (get_registry().model(name).item.model_class for name in ("ddim", "ddpm"))
    ddim = ddim_cls.load(ddpm_path, DEVICE)
    ddim.configure(steps="20")  # all 20 steps of the tiny schedule with η = 0
    assert ddim.network_evaluations == 20
    assert sample(ddim, SEEDS).shape == (4, 1, 12, 12)
    for name, tensor in trained["ddpm"].unet.state_dict().items():
        assert torch.equal(ddim.unet.state_dict()[name], tensor)
    with pytest.raises(WeightsError, match=r"belongs to plugin 'ddim', not 'ddpm'$"):
        ddpm_cls.load(ddim_path, DEVICE)


def test_network_evaluations_follow_the_sampler(trained):
    assert trained["ddpm"].network_evaluations == 20  # tiny config: T = 20, all ancestral steps
    assert trained["ddim"].network_evaluations == 5
    assert trained["ddim-cosine"].network_evaluations == 4
    spec = get_registry().model("ddpm").item
    assert spec.default_config["num_train_timesteps"] == 1000
    assert (spec.default_config["beta_start"], spec.default_config["beta_end"]) == (1e-4, 0.02)


def test_settings_are_declared_and_checked(trained):
    with pytest.raises(PluginError, match=r"^ddim setting steps=21 must lie between 1 and the model's 20 training steps$"):
        trained["ddim"].configure(steps="21")
    trained["ddim"].configure(steps="5")
    with pytest.raises(PluginError, match=r"^unknown setting 'eta' \(declared settings: precision, steps\)$"):
        trained["ddim-cosine"].configure(eta="0.5")
    with pytest.raises(PluginError, match=r"^unknown setting 'steps' \(declared settings: precision\)$"):
        trained["ddpm"].configure(steps="10")


def test_training_is_seeded_and_moves_the_weights():
    first, second = tiny_model("ddpm"), tiny_model("ddpm")
    for (name, a), b in zip(first.unet.state_dict().items(), second.unet.state_dict().values()):
        assert torch.equal(a, b), name
    spec = get_registry().model("ddpm").item
    fresh = spec.model_class(first.config)
    assert any(not torch.equal(a, b) for a, b in zip(fresh.unet.parameters(), first.unet.parameters()))


def test_cosine_variant_normalises_with_training_statistics_and_bounded_rates(trained):
    model = trained["ddim-cosine"]
    images = digits_subset().images.double() / 255
    normalizer = model.networks["normalizer"]
    assert normalizer.mean.item() == pytest.approx(images.mean().item(), rel=1e-6)
    assert normalizer.std.item() == pytest.approx(images.std().item(), rel=1e-6)
    noise, signal = model.rates(torch.tensor([0.0, 0.5, 1.0]))
    middle = math.cos((math.acos(0.95) + math.acos(0.02)) / 2)
    assert signal.tolist() == pytest.approx([0.95, middle, 0.02], rel=1e-5)
    assert (noise ** 2 + signal ** 2).tolist() == pytest.approx([1.0, 1.0, 1.0], rel=1e-6)
    assert set(model.trainable_modules()) == {"unet"}


def test_ema_recipe_option_averages_the_weights():
    model = tiny_model("ddpm")
    averaged = get_registry().model("ddpm").item.model_class(model.config)
    averaged.train(digits_subset(), {**TINY_RECIPE, "ema": 0.5}, seed=0, device=DEVICE, progress=False)
    assert any(not torch.equal(a, b) for a, b in zip(model.unet.parameters(), averaged.unet.parameters()))
