"""ldm, galip and dfgan trained and measured on the embedded shapes protocol, offline: their frozen
text encoder is the shipped shapes-CLIP that the protocol's own recipes select."""

from __future__ import annotations

import tomllib

import pytest
from genbench_models.textenc import load_frozen_clip
from PIL import Image

import genbench
from genbench.datasets.base import DataRequest
from genbench.datasets.shapes import load_shapes_split
from genbench.errors import WeightsError
from genbench.extractors.open_clip_models import REFERENCE_CONFIGS
from genbench.protocols.protocol import builtin_protocol_files
from genbench.trust.hashing import sha256_file

SHIPPED = REFERENCE_CONFIGS / "shapes_clip.safetensors"
REFERENCE = load_shapes_split(DataRequest("test", 32, 3, options={"test_size": 1000}))

#: A few training steps and a small protocol: 50 captions x 2 images, one timed batch, 2 images per prompt.
SMALL_SHAPES = {
    "train.max_steps": 2,
    "protocol.sampling.num_samples": 100,
    "protocol.sampling.samples_per_caption": 2,
    "protocol.sampling.shard_size": 50,
    "protocol.sampling.batch_size": 50,
    "protocol.metrics.kid.subset_size": 50,
    "protocol.speed.batch_sizes": [2],
    "protocol.speed.warmup": 0,
    "protocol.speed.repeats": 1,
    "protocol.gallery.samples_per_prompt": 2,
}


def shapes_clip_sha256() -> str:
    raw = tomllib.loads(next(p for p in builtin_protocol_files() if p.stem == "shapes").read_text(encoding="utf-8"))
    return raw["extractors"]["clip"]["sha256"]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """One results folder for the three runs, so the reference features are computed once."""
    return tmp_path_factory.mktemp("shapes-t2i")


@pytest.mark.parametrize("plugin, settings", [("ldm", {"steps": "2", "guidance": "2.0"}), ("galip", {}),
                                              ("dfgan", {})])
def test_plugin_trains_and_is_measured_on_shapes_offline(plugin, settings, results, tmp_path, monkeypatch):
    monkeypatch.setenv("GENBENCH_OFFLINE", "1")
    empty_weights = tmp_path / "weights"  # a weights dir without the shipped file changes nothing
    empty_weights.mkdir()
    record = genbench.run(plugin=plugin, protocol="shapes", results_dir=results, quiet=True,
                          weights_dir=empty_weights, settings={**SMALL_SHAPES, **settings})

    config = record["plugin"]["config"]
    assert (config["clip_model"], config["clip_pretrained"]) == ("genbench-shapes-clip", "shapes_clip.safetensors")
    assert config["clip_sha256"] == shapes_clip_sha256() == sha256_file(SHIPPED)
    assert record["training"]["steps"] == (4 if plugin == "ldm" else 2)  # ldm: 2 autoencoder + 2 U-Net steps
    assert set(record["metrics"]) == {"fd", "kid", "density", "coverage", "clip_score", "diversity", "vendi"}
    assert record["metrics"]["fd"]["value"] > 0
    assert 0 <= record["metrics"]["clip_score"]["value"] <= 100
    assert record["metrics"]["diversity"]["extras"]["captions"] == len(set(REFERENCE.captions[:50]))
    gallery = record["artifacts"]["gallery"]
    assert len(gallery) == 4
    for entry in gallery:
        assert Image.open(results / entry["file"]).size == (2 * (2 * 33 + 1), 2 * 34)  # a row of 2, upscaled 2x


def test_the_recipes_clip_pin_refuses_a_foreign_file_under_the_shipped_name(tmp_path, monkeypatch):
    shapes = next(p for p in builtin_protocol_files() if p.stem == "shapes")
    config = dict(tomllib.loads(shapes.read_text(encoding="utf-8"))["training"]["dfgan"]["config"])
    monkeypatch.delenv("GENBENCH_WEIGHTS", raising=False)
    assert load_frozen_clip(dict(config)).weights_sha256 == sha256_file(SHIPPED)  # found in genbench/reference/
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "shapes_clip.safetensors").write_bytes(SHIPPED.read_bytes()[:-1] + b" ")  # same tensors, one byte off
    monkeypatch.setenv("GENBENCH_WEIGHTS", str(weights))
    with pytest.raises(WeightsError, match=r"^CLIP weights genbench-shapes-clip/shapes_clip.safetensors have "
                                           r"SHA-256 [0-9a-f]{16}\.\.\., but the model config pins b9022de5f583259e\.\.\.$"):
        load_frozen_clip(dict(config))
