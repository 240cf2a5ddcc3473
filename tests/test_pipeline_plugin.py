"""The diffusers plugin on tiny random pipelines saved by the test: task from the pipeline, the same images as
calling the pipeline with the same generators, settings from its own defaults, and every refusal in one line."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
import torch
from diffusion_helpers import DEVICE, one_thread  # noqa: F401  (fixture)
from genbench_models.pipeline import DiffusersPipeline
from tiny_pipelines import COMMIT, as_uint8, cached_as_hub_id, ddpm, dit, generators, stable_diffusion

from genbench.errors import PluginError, WeightsError
from genbench.models.base import ImageFormat, SampleBatch, Task
from genbench.trust.determinism import mean_abs_difference

pytestmark = pytest.mark.usefixtures("one_thread")
SEEDS = [11, 12, 13]
CAPTIONS = ["a red circle", "a small blue square", "a green triangle at the top"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipelines")
    return {"sd": stable_diffusion(root / "tiny-sd"), "dit": dit(root / "tiny-dit"), "ddpm": ddpm(root / "tiny-ddpm")}


def loaded(folder, image_format: ImageFormat | None = None, **settings) -> DiffusersPipeline:
    """The plugin's model as the runner prepares it: loaded, told the protocol's format, configured."""
    model = DiffusersPipeline.load(folder, DEVICE)
    model.prefer_format(image_format or ImageFormat(32, 3))
    model.configure(**settings)
    return model


def direct(folder, safety_checker: Any = "saved", **arguments) -> torch.Tensor:
    """What the pipeline itself makes, as the images a user would save."""
    from diffusers import DiffusionPipeline

    pipeline = DiffusionPipeline.from_pretrained(folder, **({} if safety_checker == "saved" else {
        "safety_checker": safety_checker}))
    pipeline.set_progress_bar_config(disable=True)
    return as_uint8(pipeline(**arguments).images)


@pytest.mark.parametrize("name, task", [("sd", Task.TEXT_TO_IMAGE), ("dit", Task.CLASS_CONDITIONAL),
                                        ("ddpm", Task.UNCONDITIONAL)])
def test_the_task_comes_from_the_pipelines_call(folders, name, task):
    assert DiffusersPipeline.task_of(folders[name]) == task


@pytest.mark.parametrize("index, message", [
    ({"_class_name": "StableDiffusionImg2ImgPipeline"}, "StableDiffusionImg2ImgPipeline.__call__ takes an input "
                                                        "image (image)"),
    ({"_class_name": ["my_module", "MyPipeline"]}, "names pipeline class ['my_module', 'MyPipeline'] in "
                                                   "model_index.json: genbench loads diffusers' own pipeline classes "
                                                   "only, never custom or remote code"),
    ({"_class_name": "NoSuchPipeline"}, "names pipeline class 'NoSuchPipeline' in model_index.json, which diffusers"),
    ({"_class_name": "AutoencoderKL"}, "names pipeline class 'AutoencoderKL' in model_index.json, which diffusers"),
])
def test_a_pipeline_genbench_cannot_run_is_refused_before_anything_loads(tmp_path, index, message):
    (tmp_path / "model_index.json").write_text(json.dumps(index), encoding="utf-8")
    with pytest.raises((PluginError, WeightsError)) as error:
        DiffusersPipeline.task_of(tmp_path)
    assert message in str(error.value)


def test_no_checkpoint_and_no_pipeline_are_one_line(tmp_path):
    with pytest.raises(PluginError, match=r"^plugin 'diffusers' evaluates a published diffusers pipeline: pass "
                                          r"--checkpoint with a folder saved by save_pretrained or a hub id "):
        DiffusersPipeline.task_of(None)
    with pytest.raises(WeightsError, match=r"is not a diffusers pipeline folder \(no model_index.json"):
        DiffusersPipeline.task_of(tmp_path)
    (tmp_path / "weights.safetensors").write_bytes(b"")
    with pytest.raises(WeightsError, match=r"weights.safetensors is neither a diffusers pipeline folder"):
        DiffusersPipeline.task_of(tmp_path / "weights.safetensors")


def test_stable_diffusion_images_are_the_pipelines_own(folders):
    model = loaded(folders["sd"], steps="2", guidance="3.0", negative_prompt="blurry")
    ours = model.sample(SampleBatch(SEEDS, DEVICE, captions=CAPTIONS))
    theirs = direct(folders["sd"], prompt=CAPTIONS, generator=generators(SEEDS), num_inference_steps=2,
                    guidance_scale=3.0, negative_prompt=["blurry"] * 3, height=32, width=32)
    assert torch.equal(ours, theirs)
    assert model.network_evaluations == 6  # PNDM takes steps + 1 U-Net passes, each twice under guidance


def test_dit_images_are_the_pipelines_own_and_labels_are_checked(folders):
    model = loaded(folders["dit"], steps="3")
    ours = model.sample(SampleBatch(SEEDS, DEVICE, labels=[0, 7, 999]))
    theirs = direct(folders["dit"], class_labels=[0, 7, 999], generator=generators(SEEDS), num_inference_steps=3)
    assert torch.equal(ours, theirs)
    assert model.image_format == ImageFormat(32, 3)  # 8x8 latents, an autoencoder with 3 levels
    assert model.network_evaluations == 6  # 3 steps, guidance 4 (the pipeline's default) doubles the rows
    with pytest.raises(PluginError, match=r"^DiTPipeline knows 1000 classes; the protocol asks for class 1000$"):
        model.sample(SampleBatch(SEEDS[:1], DEVICE, labels=[1000]))


def test_ddpm_images_are_the_pipelines_own(folders):
    model = loaded(folders["ddpm"], ImageFormat(16, 1), steps="10")
    ours = model.sample(SampleBatch(SEEDS, DEVICE))
    theirs = direct(folders["ddpm"], batch_size=3, generator=generators(SEEDS), num_inference_steps=10)
    assert torch.equal(ours, theirs)
    assert model.network_evaluations == 10 and model.image_format == ImageFormat(16, 1)


@pytest.mark.parametrize("name, conditions", [("sd", {"captions": CAPTIONS}), ("dit", {"labels": [3, 1, 4]}),
                                              ("ddpm", {})])
def test_an_image_does_not_depend_on_its_batch(folders, name, conditions):
    model = loaded(folders[name], steps="2")
    together = model.sample(SampleBatch(SEEDS, DEVICE, **conditions))
    alone = model.sample(SampleBatch(SEEDS[1:2], DEVICE, **{k: v[1:2] for k, v in conditions.items()}))
    assert mean_abs_difference(together[1], alone[0]) <= 0.01  # kernels may round the last bit by batch size


def test_settings_start_at_the_pipelines_own_defaults(folders):
    sd = DiffusersPipeline.load(folders["sd"], DEVICE)
    sd.prefer_format(ImageFormat(32, 3))
    assert sd.setting_values.recorded() == {"steps": 50, "guidance": 7.5, "scheduler": "PNDMScheduler",
                                            "negative_prompt": None, "precision": "fp32", "height": 32, "width": 32}
    unconditional = DiffusersPipeline.load(folders["ddpm"], DEVICE)
    unconditional.prefer_format(ImageFormat(28, 1))  # no height or width to take: its own size stays
    assert unconditional.setting_values.recorded() == {
        "steps": 1000, "guidance": None, "scheduler": "DDPMScheduler", "negative_prompt": None, "precision": "fp32",
        "height": None, "width": None}
    assert unconditional.image_format == ImageFormat(16, 1)


def test_another_scheduler_is_built_from_the_pipelines_config(folders):
    model = loaded(folders["sd"], scheduler="DDIMScheduler", steps="2", guidance="1.0")
    config = model.config
    assert config["scheduler"]["class"] == "DDIMScheduler"
    assert config["scheduler"]["config"]["beta_schedule"] == "scaled_linear"  # the pipeline's own schedule
    model.sample(SampleBatch(SEEDS[:1], DEVICE, captions=CAPTIONS[:1]))
    assert model.network_evaluations == 2  # DDIM: one pass per step; guidance 1 is off


@pytest.mark.parametrize("name, settings, message", [
    ("ddpm", {"guidance": "2"}, "setting 'guidance' does not apply: DDPMPipeline.__call__ takes no guidance_scale"),
    ("dit", {"height": "64"}, "setting 'height' does not apply: DiTPipeline.__call__ takes no height"),
    ("dit", {"negative_prompt": "x"}, "setting 'negative_prompt' does not apply"),
    ("sd", {"steps": "many"}, "setting 'steps' expects int, got 'many'"),
    ("sd", {"steps": "0"}, "setting 'steps' must be at least 1, got 0"),
    ("sd", {"height": "64"}, "settings height=64 and width=32: genbench evaluates square images, so set both"),
    ("sd", {"scheduler": "Euler"}, "setting scheduler=Euler is not a diffusers scheduler class (this pipeline's "
                                   "scheduler is compatible with: "),
    ("sd", {"scheduler": "UNet2DModel"}, "setting scheduler=UNet2DModel is not a diffusers scheduler class"),
    ("sd", {"precision": "fp8"}, "setting 'precision' must be one of fp32, fp16, bf16, got 'fp8'"),
    ("sd", {"sampler": "x"}, "unknown setting 'sampler' (declared settings: guidance, height, negative_prompt, "
                             "precision, scheduler, steps, width)"),
])
def test_a_setting_the_pipeline_cannot_take_is_refused_in_one_line(folders, name, settings, message):
    with pytest.raises(PluginError) as error:
        loaded(folders[name], **settings)
    assert message in str(error.value)


def test_what_ran_is_recorded(folders):
    import diffusers

    config = loaded(folders["sd"]).config
    assert config["source"] == "tiny-sd" and config["folder"] == str(folders["sd"].resolve())
    assert (config["pipeline"], config["diffusers"]) == ("StableDiffusionPipeline", diffusers.__version__)
    assert config["scheduler"]["class"] == "PNDMScheduler" and config["left_out"] == {}


def test_a_safety_checker_is_left_out_and_the_config_says_so(tmp_path):
    folder = stable_diffusion(tmp_path / "with-checker", safety_checker=True)
    model = loaded(folder, steps="2")
    assert model.pipeline.safety_checker is None and "safety_checker" in model.config["left_out"]
    ours = model.sample(SampleBatch(SEEDS, DEVICE, captions=CAPTIONS))
    theirs = direct(folder, prompt=CAPTIONS, generator=generators(SEEDS), num_inference_steps=2, height=32, width=32,
                    safety_checker=None)
    assert torch.equal(ours, theirs)


def test_a_pickle_only_pipeline_is_refused_saying_how_to_convert(tmp_path):
    folder = stable_diffusion(tmp_path / "pickled", safe_serialization=False)
    with pytest.raises(WeightsError) as error:
        DiffusersPipeline.load(folder, DEVICE)
    assert str(error.value).startswith(f"{folder / 'unet'} holds pickled weights (diffusion_pytorch_model.bin) and "
                                       f"no .safetensors: genbench refuses pickled weights on purpose")
    assert "save_pretrained(..., safe_serialization=True)" in str(error.value)


def test_a_hub_id_is_read_from_the_cache_offline_with_its_resolved_revision(folders, tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    cached_as_hub_id(folders["ddpm"], tmp_path / "hub", "someone/tiny-ddpm")
    assert DiffusersPipeline.task_of("someone/tiny-ddpm") == Task.UNCONDITIONAL
    model = DiffusersPipeline.load("someone/tiny-ddpm@main", DEVICE)
    assert {k: model.config[k] for k in ("source", "hub_id", "revision", "resolved_revision")} == {
        "source": "someone/tiny-ddpm@main", "hub_id": "someone/tiny-ddpm", "revision": "main",
        "resolved_revision": COMMIT}


def test_a_hub_id_offline_and_not_cached_fails_at_once_without_the_network(tmp_path, monkeypatch):
    from huggingface_hub import constants

    def no_network(*args, **kwargs):
        raise AssertionError("offline, nothing may open a connection")

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(socket.socket, "connect", no_network)
    with pytest.raises(WeightsError) as error:
        DiffusersPipeline.task_of("someone/not-cached@v1")
    assert str(error.value) == (
        f"diffusers pipeline 'someone/not-cached@v1' is not in the Hugging Face cache ({tmp_path / 'hub'}) and "
        f"downloads are off (offline); download it once online (genbench run does) or pass a folder saved by "
        f"save_pretrained as --checkpoint")


def test_captions_the_tokenizer_cuts_are_counted(folders):
    model = loaded(folders["sd"])
    assert model.truncated_captions(["a red circle", "abc " * 40]) == 1  # 160 letters: more than 77 tokens
