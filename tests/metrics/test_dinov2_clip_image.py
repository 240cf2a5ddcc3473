"""The dinov2 and clip-image extractors: random weights saved to disk and loaded through the real offline paths."""

from __future__ import annotations

import json

import numpy as np
import open_clip
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file
from transformers import Dinov2Model

from genbench.errors import ProtocolError, WeightsError
from genbench.extractors.base import ExtractorContext
from genbench.extractors.clip import build_clip_extractor
from genbench.extractors.clip_image import build_clip_image_extractor
from genbench.extractors.dinov2 import SIZES, build_dinov2_extractor, published_config, write_random_dinov2
from genbench.trust.hashing import sha256_file

TINY_CLIP = "genbench-test-cmmd-clip"
TINY_CLIP_CONFIG = {"embed_dim": 16,
                    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
                    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}


def context(weights_dir) -> ExtractorContext:
    return ExtractorContext(torch.device("cpu"), weights_dir, False, weights_dir, None)


def images(n: int, size: int = 20, channels: int = 3, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, channels, size, size), generator=torch.Generator().manual_seed(seed),
                         dtype=torch.uint8)


@pytest.fixture(scope="module")
def dinov2_weights(tmp_path_factory):
    """A weights dir holding a one-layer DINOv2 with the ViT-S/14 width, saved with save_pretrained."""
    weights = tmp_path_factory.mktemp("dinov2-weights")
    write_random_dinov2(weights / "dinov2-small", "vits14", num_hidden_layers=1)
    return weights


def test_dinov2_features_are_the_cls_token_of_dgm_evals_preprocessing(dinov2_weights):
    extractor = build_dinov2_extractor({"size": "vits14"}, context(dinov2_weights))
    batch = images(3)
    features = extractor.extract(batch)["cls"]
    assert features.dtype == torch.float64 and features.shape == (3, 384)

    # PIL's own bicubic resize to 224x224, /255, ImageNet normalisation, then the model's final-normed CLS token
    pixels = np.stack([np.asarray(Image.fromarray(im.permute(1, 2, 0).numpy()).resize((224, 224), Image.BICUBIC))
                       for im in batch]).astype(np.float32) / 255
    pixels = (pixels - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
    model = Dinov2Model.from_pretrained(dinov2_weights / "dinov2-small").eval()
    with torch.no_grad():
        hidden = model(pixel_values=torch.from_numpy(pixels).permute(0, 3, 1, 2).float()).last_hidden_state
        expected = model.layernorm(hidden)[:, 0]
    assert torch.allclose(features, expected.double(), rtol=1e-4, atol=1e-4)  # float32 network, two batchings
    one_by_one = torch.cat([extractor.extract(batch[i:i + 1])["cls"] for i in range(3)])
    assert torch.allclose(one_by_one, features, atol=1e-5)
    grey = images(2, channels=1)
    assert torch.allclose(extractor.extract(grey)["cls"], extractor.extract(grey.expand(-1, 3, -1, -1))["cls"])
    described = extractor.describe()
    assert described["weights_sha256"] == sha256_file(dinov2_weights / "dinov2-small" / "model.safetensors")
    assert described["size"] == "vits14" and described["feature_dim"] == 384


def test_dinov2_weights_are_pinned_and_a_missing_directory_is_one_line(dinov2_weights, tmp_path):
    digest = sha256_file(dinov2_weights / "dinov2-small" / "model.safetensors")
    assert build_dinov2_extractor({"size": "vits14", "sha256": digest}, context(dinov2_weights)).weights_sha256 == digest
    with pytest.raises(WeightsError, match=r"model.safetensors has SHA-256 .*, the protocol expects 0000000000000000"):
        build_dinov2_extractor({"size": "vits14", "sha256": "0" * 64}, context(dinov2_weights))
    with pytest.raises(WeightsError) as missing:
        build_dinov2_extractor({}, context(tmp_path))
    assert str(missing.value) == (f"DINOv2 vitl14 weights not found: expected {tmp_path}/dinov2-large/ with config.json "
                                  f"and model.safetensors (Dinov2Model.from_pretrained('facebook/dinov2-large')"
                                  f".save_pretrained(...))")
    with pytest.raises(ProtocolError, match=r"size must be one of vits14, vitb14, vitl14, vitg14, got 'vit-huge'"):
        build_dinov2_extractor({"size": "vit-huge"}, context(dinov2_weights))
    (tmp_path / "dinov2-base").symlink_to(dinov2_weights / "dinov2-small")
    with pytest.raises(WeightsError, match=r"holds a DINOv2 with 384-d features; size vitb14 has 768"):
        build_dinov2_extractor({"size": "vitb14"}, context(tmp_path))


@pytest.mark.parametrize("size, parameters, dim", [("vits14", 22_056_576, 384), ("vitb14", 86_580_480, 768),
                                                  ("vitl14", 304_368_640, 1024), ("vitg14", 1_136_480_768, 1536)])
def test_published_dinov2_configs_have_the_published_shapes(size, parameters, dim):
    """The four sizes built without memory (meta device): parameter counts of facebook/dinov2-*, feature width."""
    with torch.device("meta"):
        model = Dinov2Model(published_config(size))
        output = model(pixel_values=torch.zeros(2, 3, 224, 224))
    assert sum(p.numel() for p in model.parameters()) == parameters
    assert output.pooler_output.shape == (2, dim) and SIZES[size][1]["hidden_size"] == dim


@pytest.fixture(scope="module")
def tiny_clip_weights(tmp_path_factory):
    directory = tmp_path_factory.mktemp("cmmd-clip")
    (directory / f"{TINY_CLIP}.json").write_text(json.dumps(TINY_CLIP_CONFIG), encoding="utf-8")
    open_clip.add_model_config(directory)
    torch.manual_seed(0)
    model = open_clip.create_model(TINY_CLIP)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(directory / "tiny.safetensors"))
    return directory / "tiny.safetensors"


def test_clip_image_gives_unit_norm_image_embeddings_only(tiny_clip_weights):
    settings = {"model": TINY_CLIP, "pretrained": str(tiny_clip_weights)}
    extractor = build_clip_image_extractor(settings, context(None))
    batch = images(4, size=32)
    features = extractor.extract(batch, captions=["a", "b", "c", "d"])
    assert set(features) == {"image"} and extractor.feature_names == ("image",)
    assert torch.allclose(features["image"].norm(dim=1), torch.ones(4, dtype=torch.float64), atol=1e-6)
    assert torch.equal(features["image"], build_clip_extractor(settings, context(None)).extract(batch)["image"])
    assert extractor.weights_sha256 == sha256_file(tiny_clip_weights)
    with pytest.raises(WeightsError, match=r"the protocol expects ffffffffffffffff"):
        build_clip_image_extractor({**settings, "sha256": "f" * 64}, context(None))


def test_clip_image_defaults_to_vit_l_14_336_read_from_the_weights_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GENBENCH_OFFLINE", "1")
    with pytest.raises(WeightsError, match=r"weights file 'open_clip-ViT-L-14-336-openai.safetensors' not found "
                                           rf"\(looked in: {tmp_path}; downloads are off"):
        build_clip_image_extractor({}, context(tmp_path))
    with torch.device("meta"):
        model = open_clip.create_model("ViT-L-14-336", device="meta")
        embedding = model.encode_image(torch.zeros(2, 3, 336, 336))
    assert model.visual.image_size == (336, 336) and embedding.shape == (2, 768)


def test_dinov2_without_weights_dir_offline_names_what_to_provide(monkeypatch):
    monkeypatch.setenv("GENBENCH_OFFLINE", "1")
    monkeypatch.delenv("GENBENCH_WEIGHTS", raising=False)
    with pytest.raises(WeightsError, match=r"^DINOv2 vitb14 weights not found \(\w+\): put the directory dinov2-base/ "
                                           r"\(config.json, model.safetensors\) of facebook/dinov2-base in "
                                           r"--weights-dir or \$GENBENCH_WEIGHTS$"):
        build_dinov2_extractor({"size": "vitb14"}, context(None))
