"""open_clip loading offline, genbench's preprocessing, the clip extractor and the CLIP score."""

from __future__ import annotations

import json
from types import SimpleNamespace

import open_clip
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from genbench.errors import MetricError, WeightsError
from genbench.extractors.clip import build_clip_extractor
from genbench.extractors.open_clip_models import ClipModel, load_clip
from genbench.metrics.base import MetricInputs
from genbench.metrics.clip_score import CLIP_SCORE
from genbench.protocols.protocol import builtin_protocol_files, load_protocol_file
from genbench.trust.hashing import sha256_file

TINY = "genbench-test-tiny-clip"
TINY_CONFIG = {"embed_dim": 16,
               "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "patch_size": 8, "head_width": 16},
               "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2}}
CAPTIONS = ["a red circle on the left", "a photo of a dog", "two cats", "", "a blue square",
            "a very long caption that goes on " * 4]


def save_random_weights(model_name: str, path) -> None:
    torch.manual_seed(0)
    model = open_clip.create_model(model_name)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory):
    """A tiny open_clip architecture registered with open_clip, and its random weights as safetensors."""
    directory = tmp_path_factory.mktemp("tiny_clip")
    (directory / f"{TINY}.json").write_text(json.dumps(TINY_CONFIG), encoding="utf-8")
    open_clip.add_model_config(directory)
    save_random_weights(TINY, directory / "tiny.safetensors")
    return directory / "tiny.safetensors"


@pytest.fixture(scope="session")
def vit_b32_weights_dir(tmp_path_factory):
    """The real ViT-B-32 architecture at random init, saved under the file name a weights dir holds
    (600 MB: removed after the session rather than left among pytest's kept temp dirs)."""
    directory = tmp_path_factory.mktemp("weights")
    path = directory / "open_clip-ViT-B-32-openai.safetensors"
    save_random_weights("ViT-B-32", path)
    yield directory
    path.unlink()


def images(n: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, size, size), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def test_vit_b32_loads_offline_from_a_weights_dir(vit_b32_weights_dir):
    path = vit_b32_weights_dir / "open_clip-ViT-B-32-openai.safetensors"
    extractor = build_clip_extractor({"model": "ViT-B-32", "pretrained": "openai"},
                                     SimpleNamespace(device=torch.device("cpu"), weights_dir=vit_b32_weights_dir))
    clip = extractor.clip
    assert clip.weights_sha256 == sha256_file(path) == extractor.describe()["weights_sha256"]
    assert (clip.image_size, clip.context_length) == (224, 77)
    saved = load_file(str(path))
    loaded = clip.model.state_dict()
    assert set(saved) == set(loaded) and all(torch.equal(saved[k], loaded[k]) for k in saved)
    assert clip.model.visual.transformer.resblocks[0].mlp.gelu.__class__.__name__ == "QuickGELU"  # as the tag says
    features = extractor.extract(images(2, size=40), CAPTIONS[:2])
    assert features["image"].shape == features["text"].shape == (2, 512)


def test_missing_weights_name_the_file_and_its_source(tmp_path):
    with pytest.raises(WeightsError) as error:
        load_clip("ViT-B-32", "openai", weights_dir=tmp_path)
    assert str(error.value) == (
        f"weights file 'open_clip-ViT-B-32-openai.safetensors' not found (looked in: {tmp_path}; downloads are off "
        f"when a weights directory is given); download it from https://huggingface.co/timm/"
        f"vit_base_patch32_clip_224.openai/resolve/main/open_clip_model.safetensors and put it in --weights-dir "
        f"or $GENBENCH_WEIGHTS")
    with pytest.raises(WeightsError, match=r"\(looked in: no weights directory given; offline\)"):
        load_clip("ViT-B-32", "openai")


def test_pickled_weights_and_unknown_models_are_refused(tmp_path, tiny_weights):
    pickled = tmp_path / "weights.pt"
    pickled.write_bytes(b"not read")
    with pytest.raises(WeightsError, match=r"weights.pt is not a .safetensors file; genbench does not unpickle"):
        load_clip(TINY, str(pickled))
    with pytest.raises(WeightsError, match=r"^open_clip has no model 'ViT-Tiny-Nope'$"):
        load_clip("ViT-Tiny-Nope", str(tiny_weights))
    with pytest.raises(WeightsError, match=r"does not fit open_clip model ViT-B-32"):
        load_clip("ViT-B-32", str(tiny_weights))


def test_preprocess_is_open_clips_own_eval_transform(tiny_weights):
    clip = load_clip(TINY, str(tiny_weights))
    _, _, transform = open_clip.create_model_and_transforms(TINY, pretrained=str(tiny_weights))
    for native in (images(3, size=32), torch.randint(0, 256, (2, 3, 48, 80), generator=torch.Generator().manual_seed(1),
                                                       dtype=torch.uint8)):
        pil = torch.stack([transform(Image.fromarray(im.permute(1, 2, 0).numpy())) for im in native])
        assert torch.equal(clip.preprocess(native), pil)  # the library's own pipeline, bit for bit
        tensor = clip.preprocess_tensor(native)  # the differentiable path for training losses
        assert tensor.shape == pil.shape == (len(native), 3, 32, 32)
        # PIL resizes in uint8 and torch in float: the two bicubic filters agree to a few grey levels
        assert (tensor - pil).abs().mean() < 0.03
    grey = images(2, size=40)[:, :1]
    pil = torch.stack([transform(Image.fromarray(im[0].numpy(), mode="L")) for im in grey])
    assert torch.equal(clip.preprocess(grey), pil)
    torch.testing.assert_close(pil[:, 0] * 0.26862954 + 0.48145466, pil[:, 1] * 0.26130258 + 0.4578275)


def test_every_open_clip_resize_mode_is_preprocessed_its_own_way(tiny_weights):
    model, _, transform = open_clip.create_model_and_transforms(TINY, pretrained=str(tiny_weights),
                                                                image_resize_mode="longest")
    clip = ClipModel(model.eval(), open_clip.get_tokenizer(TINY), TINY, "tiny", "", torch.device("cpu"))
    wide = torch.randint(0, 256, (2, 3, 24, 48), generator=torch.Generator().manual_seed(2), dtype=torch.uint8)
    pil = torch.stack([transform(Image.fromarray(im.permute(1, 2, 0).numpy())) for im in wide])
    assert torch.equal(clip.preprocess(wide), pil)  # padded to a square, as open_clip does
    with pytest.raises(WeightsError, match=r"resize mode 'longest' has no tensor preprocessing in genbench"):
        clip.preprocess_tensor(wide)


def open_clip_pipeline_cosines(weights, folder, captions: list[str]) -> torch.Tensor:
    """open_clip's own answer: create_model_and_transforms -> preprocess PNG files -> encode -> cosine."""
    model, _, preprocess = open_clip.create_model_and_transforms(TINY, pretrained=str(weights))
    files = sorted(folder.glob("*.png"))
    with torch.no_grad():
        image = model.eval().encode_image(torch.stack([preprocess(Image.open(f)) for f in files]))
        text = model.encode_text(open_clip.get_tokenizer(TINY)(captions))
    return torch.nn.functional.cosine_similarity(image.double(), text.double(), dim=1)


@pytest.mark.parametrize("shape", [(3, 48, 80), (1, 40, 40), (3, 100, 64)])
def test_clip_score_equals_open_clips_own_pipeline_on_png_files(tiny_weights, tmp_path, shape):
    channels, height, width = shape
    pixels = torch.randint(0, 256, (len(CAPTIONS), channels, height, width), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(height))
    pixels = (pixels.double() * torch.linspace(0.2, 1.0, width)).to(torch.uint8)  # smooth-ish, so resizes differ less
    for i, image in enumerate(pixels):
        array = image.permute(1, 2, 0).numpy()
        Image.fromarray(array[..., 0] if channels == 1 else array).save(tmp_path / f"{i:03d}.png")
    cosine = open_clip_pipeline_cosines(tiny_weights, tmp_path, CAPTIONS)
    extractor = build_clip_extractor({"model": TINY, "pretrained": str(tiny_weights)},
                                     SimpleNamespace(device=torch.device("cpu"), weights_dir=None))
    settings = {**CLIP_SCORE.defaults, "feature": "image"}
    value = CLIP_SCORE.compute(MetricInputs(extractor.extract(pixels, CAPTIONS), None, settings))
    expected = float((100 * cosine.clamp(min=0)).mean())
    assert abs(value.value - expected) <= 1e-5 * abs(expected)
    assert abs(value.extras["raw_cosine_mean"] - float(cosine.mean())) <= 2e-7


def test_the_preprocessing_mode_is_part_of_the_fingerprint(tiny_weights):
    extractor = build_clip_extractor({"model": TINY, "pretrained": str(tiny_weights)},
                                     SimpleNamespace(device=torch.device("cpu"), weights_dir=None))
    assert extractor.identity == {"weights_sha256": sha256_file(tiny_weights), "preprocess": "open_clip-pil"}
    assert extractor.describe()["preprocess"] == "open_clip-pil"
    protocol = load_protocol_file(next(p for p in builtin_protocol_files() if p.stem == "coco5k"))
    before = protocol.fingerprint({"inception": "i", "clip": extractor.weights_sha256}, "r")  # genbench's old identity
    assert protocol.fingerprint({"inception": "i", "clip": extractor.identity}, "r") != before
    for name in ("shapes", "coco5k", "coco30k"):  # the protocols scored in CLIP space were re-versioned for it
        assert load_protocol_file(next(p for p in builtin_protocol_files() if p.stem == name)).version == 2


def test_truncated_captions_are_flagged(tiny_weights):
    clip = load_clip(TINY, str(tiny_weights))
    flags = clip.truncated(CAPTIONS)
    assert flags.tolist() == [False, False, False, False, False, True]
    tokens = clip.tokenize(CAPTIONS)
    assert tokens.shape == (len(CAPTIONS), 16)
    assert (tokens[:, -1] != 0).tolist() == flags.tolist()  # only the cut caption fills the whole context


def test_clip_score_equals_a_direct_open_clip_computation(tiny_weights):
    extractor = build_clip_extractor({"model": TINY, "pretrained": str(tiny_weights)},
                                     SimpleNamespace(device=torch.device("cpu"), weights_dir=None))
    x = images(len(CAPTIONS))
    features = extractor.extract(x, CAPTIONS)
    assert set(features) == {"image", "text", "caption_truncated"}
    assert all(v.dtype == torch.float64 for v in features.values())

    model = open_clip.create_model(TINY, pretrained=str(tiny_weights)).eval()
    with torch.no_grad():
        image = model.encode_image(extractor.clip.preprocess(x)).double()
        text = model.encode_text(open_clip.get_tokenizer(TINY)(CAPTIONS)).double()
    cosine = (image / image.norm(dim=1, keepdim=True) * text / text.norm(dim=1, keepdim=True)).sum(1)
    assert (cosine < 0).any() and (cosine > 0).any()  # so that max(cos, 0) is exercised
    for definition, weight in (("torchmetrics", 100.0), ("hessel", 2.5)):
        settings = {**CLIP_SCORE.defaults, "feature": "image", "definition": definition}
        value = CLIP_SCORE.compute(MetricInputs(features, None, settings))
        expected = weight * cosine.clamp(min=0)
        assert value.value == pytest.approx(float(expected.mean()), rel=1e-6)
        assert value.std == pytest.approx(float(expected.std(unbiased=False)), rel=1e-6)
        assert value.extras["weight"] == weight and value.extras["definition"] == definition
        assert value.extras["raw_cosine_mean"] == pytest.approx(float(cosine.mean()), rel=1e-6, abs=1e-9)
        assert value.extras["truncated_captions"] == 1


def test_clip_score_refuses_what_it_cannot_score(tiny_weights):
    image_only = {"image": torch.ones(2, 4, dtype=torch.float64)}
    settings = {**CLIP_SCORE.defaults, "feature": "image"}
    with pytest.raises(MetricError, match="came without captions"):
        CLIP_SCORE.compute(MetricInputs(image_only, None, settings))
    with pytest.raises(MetricError, match=r"unknown definition 'raw' \(known: torchmetrics, hessel, mlperf\)"):
        CLIP_SCORE.compute(MetricInputs(image_only, None, {**settings, "definition": "raw"}))


def test_clip_extractor_settings_are_checked(tiny_weights, tmp_path):
    context = SimpleNamespace(device=torch.device("cpu"), weights_dir=tmp_path)
    with pytest.raises(WeightsError, match=r"the protocol expects 0000000000000000\.\.\.$"):
        build_clip_extractor({"model": TINY, "pretrained": str(tiny_weights), "sha256": "0" * 64}, context)
    with pytest.raises(WeightsError) as error:
        build_clip_extractor({"model": TINY, "pretrained": "mine.safetensors"}, context)
    assert str(error.value).startswith(f"CLIP weights 'mine.safetensors' not found (looked in: {tmp_path}, ")
    (tmp_path / "mine.safetensors").write_bytes(tiny_weights.read_bytes())
    extractor = build_clip_extractor({"model": TINY, "pretrained": "mine.safetensors"}, context)
    assert extractor.weights_sha256 == sha256_file(tiny_weights)
