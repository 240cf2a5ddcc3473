"""Published diffusers pipelines through ddpm/ddim's pretrained path: a tiny one saved in the test."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers import DDIMPipeline, DDPMPipeline, DDPMScheduler, UNet2DModel
from diffusion_helpers import DEVICE, one_thread  # noqa: F401  (fixture)
from genbench_models.ddim import DDIM
from genbench_models.ddpm import DDPM

from genbench.errors import WeightsError
from genbench.models.base import SampleBatch

pytestmark = pytest.mark.usefixtures("one_thread")
SEEDS = [5, 6, 7]


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory):
    """A random-weights DDPM pipeline in ``save_pretrained`` layout (unet/, scheduler/, model_index.json)."""
    torch.manual_seed(0)
    unet = UNet2DModel(sample_size=8, in_channels=1, out_channels=1, block_out_channels=(8, 16),
                       down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"),
                       layers_per_block=1, norm_num_groups=4, attention_head_dim=8)
    scheduler = DDPMScheduler(num_train_timesteps=12, beta_start=1e-3, beta_end=0.3, beta_schedule="linear")
    path = tmp_path_factory.mktemp("pipeline") / "tiny-ddpm"
    DDPMPipeline(unet=unet, scheduler=scheduler).save_pretrained(path)
    return path


def _as_uint8(images: np.ndarray) -> torch.Tensor:
    """A diffusers pipeline's [0, 1] NHWC floats as genbench's uint8 NCHW."""
    return (torch.from_numpy(images).permute(0, 3, 1, 2).clamp(0, 1) * 255).round().to(torch.uint8)


def test_pipeline_directory_loads_and_samples_like_the_diffusers_pipeline(pipeline_dir):
    model = DDPM.load(pipeline_dir, DEVICE)
    assert (model.image_format.size, model.image_format.channels) == (8, 1)
    assert model.network_evaluations == 12
    assert model.config["pretrained"] == str(pipeline_dir)
    ours = model.sample(SampleBatch(SEEDS, DEVICE))
    pipeline = DDPMPipeline.from_pretrained(pipeline_dir)
    theirs = pipeline(batch_size=3, generator=[torch.Generator().manual_seed(s) for s in SEEDS],
                      num_inference_steps=12, output_type="np").images
    assert torch.equal(ours, _as_uint8(theirs))


def test_ddim_on_a_pipeline_matches_the_diffusers_ddim_pipeline(pipeline_dir):
    model = DDIM.load(pipeline_dir, DEVICE)
    model.configure(steps="4", eta="0.5")
    ours = model.sample(SampleBatch(SEEDS, DEVICE))
    base = DDPMPipeline.from_pretrained(pipeline_dir)
    pipeline = DDIMPipeline(unet=base.unet, scheduler=base.scheduler)  # DDIMPipeline converts the scheduler
    theirs = pipeline(batch_size=3, generator=[torch.Generator().manual_seed(s) for s in SEEDS], eta=0.5,
                      num_inference_steps=4, output_type="np").images
    assert torch.equal(ours, _as_uint8(theirs))


def test_a_loaded_pipeline_saves_as_a_genbench_checkpoint(pipeline_dir, tmp_path):
    model = DDPM.load(pipeline_dir, DEVICE)
    model.save(tmp_path / "converted.safetensors")
    again = DDPM.load(tmp_path / "converted.safetensors", DEVICE)
    assert torch.equal(again.sample(SampleBatch(SEEDS, DEVICE)), model.sample(SampleBatch(SEEDS, DEVICE)))


def test_a_hub_name_offline_and_not_cached_is_one_line_naming_where_to_get_it(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(WeightsError) as error:
        DDPM.load("google/ddpm-cifar10-32", DEVICE)
    assert str(error.value) == (
        f"diffusers pipeline 'google/ddpm-cifar10-32' is not in the Hugging Face cache ({tmp_path / 'hub'}) and "
        f"downloads are off (offline); download it once online (genbench run does) or pass a folder saved by "
        f"save_pretrained as --checkpoint")


def test_a_pipeline_with_pickled_weights_is_refused_saying_how_to_convert(tmp_path):
    torch.manual_seed(0)
    unet = UNet2DModel(sample_size=8, in_channels=1, out_channels=1, block_out_channels=(8, 16),
                       down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
                       layers_per_block=1, norm_num_groups=4)
    pickled = tmp_path / "pickled"
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler(num_train_timesteps=4)).save_pretrained(pickled,
                                                                                            safe_serialization=False)
    with pytest.raises(WeightsError) as error:
        DDPM.load(pickled, DEVICE)
    assert str(error.value) == (
        f"{pickled / 'unet'} holds pickled weights (diffusion_pytorch_model.bin) and no .safetensors: genbench refuses "
        f"pickled weights on purpose (unpickling can run code from the file); convert them once, where you trust the "
        f"file, with diffusers' save_pretrained(..., safe_serialization=True), e.g. DiffusionPipeline.from_pretrained("
        f"'{pickled}').save_pretrained('{pickled}', safe_serialization=True)")
    DDPMPipeline.from_pretrained(pickled).save_pretrained(pickled, safe_serialization=True)  # the advice works
    (pickled / "unet" / "diffusion_pytorch_model.bin").unlink()
    assert DDPM.load(pickled, DEVICE).image_format.size == 8


def test_a_directory_that_is_no_pipeline_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(WeightsError, match=r"^cannot load diffusers pipeline '.*empty': "):
        DDPM.load(tmp_path / "empty", DEVICE)


def test_a_missing_checkpoint_file_is_not_mistaken_for_a_hub_name():
    with pytest.raises(WeightsError, match=r"^checkpoint missing/ddpm\.safetensors does not exist$"):
        DDPM.load("missing/ddpm.safetensors", DEVICE)
