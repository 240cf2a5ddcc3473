"""The text-to-image plugins (ldm, galip, dfgan) at tiny size on CPU: training, seeded sampling from
captions, checkpoints without the frozen CLIP, parameter counts, and the CLIP weights checks."""

from __future__ import annotations

import pytest
import torch
from genbench_models.dfgan import DFGAN_SPEC
from genbench_models.galip import GALIP_SPEC
from genbench_models.ldm import LDM_SPEC
from genbench_models.textenc import load_frozen_clip
from safetensors.torch import load_file, save_file
from tiny_t2i import TINY_CLIP, captioned_images, make_tiny_clip

from genbench.errors import PluginError, WeightsError
from genbench.models.base import ImageFormat, SampleBatch, Task, TrainingData
from genbench.registry import load_registry

SPECS = {"dfgan": DFGAN_SPEC, "galip": GALIP_SPEC, "ldm": LDM_SPEC}
SIZES = {"dfgan": 16, "galip": 16, "ldm": 16}
CPU = torch.device("cpu")
CAPTIONS = ["a red square on the left", "a blue square on the right", "a green square on the left"]


@pytest.fixture(scope="module")
def clip_weights(tmp_path_factory):
    return make_tiny_clip(tmp_path_factory.mktemp("weights"))


def tiny_config(name: str, clip_weights) -> dict:
    return {**SPECS[name].tiny_config, "clip_model": TINY_CLIP, "clip_pretrained": str(clip_weights)}


def create(name: str, clip_weights, **overrides):
    image_format = ImageFormat(SIZES[name], 3)
    return SPECS[name].model_class.create(image_format, {**tiny_config(name, clip_weights), **overrides})


@pytest.fixture(scope="module")
def trained(clip_weights):
    """Each plugin trained for two steps on captioned squares, with its weights before training."""
    models = {}
    for name in SPECS:
        model = create(name, clip_weights)
        before = {k: v.clone() for k, v in model.networks["generator" if name != "ldm" else "unet"].state_dict().items()}
        images, captions = captioned_images(8, SIZES[name])
        report = model.train(TrainingData(images, captions=captions), {"epochs": 1, "batch_size": 4}, 0, CPU,
                             progress=False)
        if name == "ldm":
            model.configure(steps=3, guidance=2.0)
        models[name] = (model, report, before)
    return models


def sample(model, seeds, captions):
    return model.sample(SampleBatch(list(seeds), CPU, captions=list(captions)))


def test_plugins_register_as_text_to_image_through_entry_points():
    registry = load_registry()
    for name in SPECS:
        provided = registry.model(name)
        assert provided.plugin.module == f"genbench_models.{name}"
        assert provided.item.task is Task.TEXT_TO_IMAGE


@pytest.mark.parametrize("name", list(SPECS))
def test_training_updates_the_trained_networks(trained, name):
    model, report, before = trained[name]
    autoencoder_steps = 2 if name == "ldm" else 0  # ldm trains its autoencoder first (vae_epochs = 1)
    assert report.steps == 2 + autoencoder_steps and report.epochs == 1
    assert torch.isfinite(torch.tensor(report.final_loss))
    after = model.networks["generator" if name != "ldm" else "unet"].state_dict()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert len(changed) > len(before) // 2


@pytest.mark.parametrize("name", list(SPECS))
def test_samples_depend_only_on_seed_and_caption(trained, name):
    model, _, _ = trained[name]
    images = sample(model, [11, 12, 13], CAPTIONS)
    assert images.dtype == torch.uint8 and images.shape == (3, 3, SIZES[name], SIZES[name])
    assert torch.equal(images, sample(model, [11, 12, 13], CAPTIONS))
    one_by_one = torch.cat([sample(model, [seed], [caption]) for seed, caption in zip([11, 12, 13], CAPTIONS)])
    # float rounding may differ between batch shapes; a diffusion chain can carry it to one grey level
    assert (images.int() - one_by_one.int()).abs().max() <= (1 if name == "ldm" else 0)
    assert not torch.equal(images[0], sample(model, [99], CAPTIONS[:1])[0])
    assert not torch.equal(images[0], sample(model, [11], CAPTIONS[1:2])[0])


@pytest.mark.parametrize("name", list(SPECS))
def test_checkpoint_round_trip_leaves_clip_out(trained, name, tmp_path):
    model, _, _ = trained[name]
    path = tmp_path / f"{name}.safetensors"
    model.save(path)
    stored = load_file(str(path))
    assert sorted({k.split(".")[0] for k in stored}) == sorted(model.networks)
    assert len(stored) == sum(len(m.state_dict()) for m in model.networks.values())
    reloaded = SPECS[name].model_class.load(path, CPU)
    assert reloaded.config["clip_sha256"] == model.clip.weights_sha256
    reloaded.configure(**model.setting_values)
    assert torch.equal(sample(reloaded, [5, 6], CAPTIONS[:2]), sample(model, [5, 6], CAPTIONS[:2]))


@pytest.mark.parametrize("name", list(SPECS))
def test_parameter_counts_separate_frozen_clip(trained, name):
    model, _, _ = trained[name]
    clip = sum(p.numel() for n, p in model.clip.model.named_parameters()
               if name == "galip" or not n.startswith("visual."))
    networks = sum(p.numel() for m in model.networks.values() for p in m.parameters())
    trained_params = sum(p.numel() for m in model.networks.values() for p in m.parameters() if p.requires_grad)
    assert model.parameter_counts() == {"all": networks + clip, "trainable": trained_params}
    if name == "ldm":  # the autoencoder is frozen once the U-Net trains
        assert trained_params == sum(p.numel() for p in model.networks["unet"].parameters())


def test_checkpoint_refuses_other_clip_weights(trained, tmp_path):
    model, _, _ = trained["dfgan"]
    state = load_file(str(model.config["clip_pretrained"]))
    state["logit_scale"] = state["logit_scale"] + 1.0
    other = tmp_path / "open_clip-other.safetensors"
    save_file(state, str(other))
    config = {**model.config, "clip_pretrained": str(other)}
    with pytest.raises(WeightsError, match=rf"^CLIP weights {TINY_CLIP}/.*open_clip-other.safetensors have "
                                            r"SHA-256 [0-9a-f]{16}\.\.\., but the model config pins "
                                            + model.clip.weights_sha256[:16] + r"\.\.\.$"):
        load_frozen_clip(config)


def test_missing_clip_weights_name_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("GENBENCH_WEIGHTS", str(tmp_path))
    with pytest.raises(WeightsError, match=r"^weights file 'open_clip-ViT-B-32-openai.safetensors' not found "
                                            rf"\(looked in: {tmp_path}; downloads are off"):
        DFGAN_SPEC.model_class.create(ImageFormat(16, 3), dict(DFGAN_SPEC.tiny_config))


def test_sampling_needs_a_caption_per_image(trained):
    model, _, _ = trained["dfgan"]
    with pytest.raises(PluginError, match="^plugin 'dfgan' generates from captions: give one caption per image$"):
        model.sample(SampleBatch([1, 2], CPU))


@pytest.mark.parametrize("plugin", ["dfgan", "ldm"])
def test_overlong_captions_are_truncated_and_counted(trained, plugin):
    model, _, _ = trained[plugin]
    assert model.truncated_captions(["word " * 200, "", "a red circle", "word " * 75, "word " * 76]) == 2
    assert sample(model, [1, 2], ["word " * 200, ""]).shape[0] == 2  # cut, not refused


def tiny_ldm_pipeline(directory, vae_blocks: int = 4, safe_serialization: bool = True):
    """A diffusers LDMTextToImagePipeline in the CompVis/ldm-text2im-large-256 layout, random weights, saved
    (``vae_blocks`` 4: the autoencoder downsamples by 8, as CompVis'; 3: by 4)."""
    from diffusers import AutoencoderKL, DDIMScheduler, LDMTextToImagePipeline, UNet2DConditionModel
    from diffusers.pipelines.latent_diffusion.pipeline_latent_diffusion import LDMBertConfig, LDMBertModel
    from transformers import BertTokenizer

    torch.manual_seed(0)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "red", "blue", "green", "square", "on", "the",
             "left", "right"]
    vocab = directory / "vocab.txt"
    vocab.write_text("\n".join(words) + "\n", encoding="utf-8")
    bert = LDMBertModel(LDMBertConfig(vocab_size=len(words), d_model=32, encoder_layers=1, encoder_ffn_dim=32,
                                      encoder_attention_heads=2, head_dim=16, max_position_embeddings=77))
    unet = UNet2DConditionModel(block_out_channels=(16, 32), layers_per_block=1, sample_size=4, in_channels=4,
                                out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
                                norm_num_groups=8, attention_head_dim=4)
    vqvae = AutoencoderKL(block_out_channels=(8,) * vae_blocks, down_block_types=("DownEncoderBlock2D",) * vae_blocks,
                          up_block_types=("UpDecoderBlock2D",) * vae_blocks, latent_channels=4, norm_num_groups=4)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False)
    pipeline = LDMTextToImagePipeline(vqvae=vqvae, bert=bert, tokenizer=BertTokenizer(str(vocab)), unet=unet,
                                      scheduler=scheduler)
    pipeline.save_pretrained(str(directory / "pipeline"), safe_serialization=safe_serialization)
    for module in (bert, unet, vqvae):
        module.eval()  # as from_pretrained leaves them (LDM-BERT has dropout)
    return directory / "pipeline", pipeline


def test_ldm_loads_a_diffusers_pipeline_directory(tmp_path):
    path, pipeline = tiny_ldm_pipeline(tmp_path)
    model = LDM_SPEC.model_class.load(path, CPU)
    model.configure(steps="3", guidance="2.0")
    assert model.image_format == ImageFormat(32, 3) and model.network_evaluations == 6
    images = sample(model, [1, 2], CAPTIONS[:2])
    assert images.shape == (2, 3, 32, 32) and images.dtype == torch.uint8
    first = sample(model, [1], CAPTIONS[:1])
    assert (images[:1].int() - first.int()).abs().max() <= 1  # float rounding between batch shapes
    latents = torch.randn(4, 4, 4, generator=torch.Generator().manual_seed(1))[None]
    expected = pipeline(CAPTIONS[:1], num_inference_steps=3, guidance_scale=2.0, eta=0.0, latents=latents,
                        output_type="pt").images
    assert torch.equal(first, (expected.clamp(0, 1) * 255).round().to(torch.uint8))
    total = sum(p.numel() for m in (pipeline.vqvae, pipeline.bert, pipeline.unet) for p in m.parameters())
    assert model.parameter_counts()["all"] == total
    assert model.truncated_captions(["red " * 75, "red " * 76, "a red square"]) == 1  # 77 tokens with [CLS], [SEP]


def test_ldm_pipeline_whose_autoencoder_downsamples_by_4_gives_its_own_image_size(tmp_path):
    path, pipeline = tiny_ldm_pipeline(tmp_path, vae_blocks=3)
    model = LDM_SPEC.model_class.load(path, CPU)
    model.configure(steps="2", guidance="1.0")
    assert pipeline.vae_scale_factor == 4 and model.image_format == ImageFormat(16, 3)
    images = sample(model, [1], CAPTIONS[:1])
    assert images.shape == (1, 3, 16, 16)
    latents = torch.randn(4, 4, 4, generator=torch.Generator().manual_seed(1))[None]
    expected = pipeline(CAPTIONS[:1], height=32, width=32, num_inference_steps=2, guidance_scale=1.0, eta=0.0,
                        latents=latents, output_type="pt").images
    assert torch.equal(images, (expected.clamp(0, 1) * 255).round().to(torch.uint8))


def test_ldm_pipeline_with_pickled_weights_is_refused_saying_how_to_convert(tmp_path):
    path, _ = tiny_ldm_pipeline(tmp_path, safe_serialization=False)
    with pytest.raises(WeightsError) as error:
        LDM_SPEC.model_class.load(path, CPU)
    assert str(error.value) == (
        f"{path / 'unet'} holds pickled weights (diffusion_pytorch_model.bin) and no .safetensors: genbench refuses "
        f"pickled weights on purpose (unpickling can run code from the file); convert them once, where you trust "
        f"the file, with diffusers' save_pretrained(..., safe_serialization=True), e.g. "
        f"DiffusionPipeline.from_pretrained('{path}').save_pretrained('{path}', safe_serialization=True)")


def test_ldm_pipeline_directory_must_be_a_pipeline(tmp_path):
    with pytest.raises(WeightsError, match=rf"^{tmp_path} is not a diffusers pipeline directory \(no model_index.json\)$"):
        LDM_SPEC.model_class.load(tmp_path, CPU)


def test_ldm_pretrained_autoencoder_skips_autoencoder_training(clip_weights, tmp_path):
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    vae = AutoencoderKL(block_out_channels=(8, 16, 16), down_block_types=("DownEncoderBlock2D",) * 3,
                        up_block_types=("UpDecoderBlock2D",) * 3, latent_channels=4, norm_num_groups=8,
                        scaling_factor=0.5)
    vae.save_pretrained(str(tmp_path / "vae"))
    model = create("ldm", clip_weights, vae_path=str(tmp_path / "vae"), objective="eps-mse")
    assert model.config["latent_scale"] == 0.5 and model.scheduler.config.prediction_type == "epsilon"
    assert torch.equal(model.networks["vae"].encoder.conv_in.weight, vae.encoder.conv_in.weight)
    images, captions = captioned_images(4, 16)
    report = model.train(TrainingData(images, captions=captions), {"epochs": 1, "batch_size": 4}, 0, CPU,
                         progress=False)
    assert report.steps == 1 and "autoencoder" not in report.recipe
    assert torch.equal(model.networks["vae"].encoder.conv_in.weight, vae.encoder.conv_in.weight)


def test_ldm_rejects_an_unknown_objective(clip_weights):
    with pytest.raises(PluginError, match=r"^ldm objective must be one of \['x0-mae', 'eps-mse'\], got 'v'$"):
        create("ldm", clip_weights, objective="v")


def test_ldm_rejects_images_too_small_for_its_levels(clip_weights):
    with pytest.raises(PluginError, match=r"^ldm U-Net with 3 levels needs latents whose side is a multiple of 4; "
                                          r"16 px images give 2$"):
        LDM_SPEC.model_class.create(ImageFormat(16, 3), {**LDM_SPEC.default_config, "clip_model": TINY_CLIP,
                                                         "clip_pretrained": str(clip_weights)})
