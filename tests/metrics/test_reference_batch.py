"""An ADM reference batch as a class-conditional protocol's reference: FID and sFID read its published statistics
as the evaluator does, precision and recall its images' features, nothing else of it is extracted; imagenet256 runs
from a batch the test makes (random images, a random-initialised Inception)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from imagesets import make_images

import genbench.protocols
from genbench.cli import main
from genbench.metrics.adm_frechet import evaluator_frechet_distance
from genbench.storage.statistics_files import read_statistics_file
from genbench.trust.hashing import sha256_file

#: Every test sends a few dozen 32x32 or 256x256 images through InceptionV3 at 299x299.
pytestmark = pytest.mark.slow

PROTOCOL = """
name = "tiny-adm"
version = 1
task = "class-conditional"
description = "a class-conditional protocol over an ADM-format reference batch, the evaluator's five numbers"

[data]
dataset = "reference-file"
image_size = 32
channels = 3
reference_split = "reference"
file = "batch.npz"
source = "the test that wrote it"
num_classes = 4

[sampling]
num_samples = 8
shard_size = 8
feature_batch_size = 8
conditions = "classes"

[extractors.inception]
kind = "inception"
features = ["2048", "logits_unbiased", "spatial"]

[metrics.fid]
metric = "adm_fid"
extractor = "inception"
feature = "2048"
allow_singular_covariance = true

[metrics.sfid]
metric = "sfid"
extractor = "inception"
feature = "spatial"
allow_singular_covariance = true

[metrics.is]
metric = "adm_isc"
extractor = "inception"
feature = "logits_unbiased"
split_size = 4
"""
FEATURE_METRICS = """
[metrics.precision]
metric = "adm_precision"
extractor = "inception"
feature = "2048"

[metrics.recall]
metric = "adm_recall"
extractor = "inception"
feature = "2048"
"""


def adm_batch(path: Path, count: int, size: int, seed: int = 7) -> Path:
    """An ADM-format batch: uint8 NHWC images, labels, and (made-up, positive definite) pool and spatial statistics."""
    rng = np.random.default_rng(seed)
    arrays = {"arr_0": make_images(seed=seed, count=count, size=size).permute(0, 2, 3, 1).numpy(),
              "arr_1": np.arange(count) % 4}
    for name, dim in (("mu", 2048), ("mu_s", 2023)):
        scale = rng.uniform(0.5, 2.0, size=dim)
        arrays[name], arrays["sigma" + name[2:]] = rng.normal(size=dim), np.diag(scale)
    np.savez(path, **arrays)
    return path


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("adm-batch")
    adm_batch(root / "batch.npz", 8, 32)
    np.savez(root / "samples.npz", make_images(seed=11, count=8, size=32).permute(0, 2, 3, 1).numpy())
    (root / "full.toml").write_text(PROTOCOL + FEATURE_METRICS, encoding="utf-8")
    pinned = PROTOCOL.replace("num_classes = 4", f'num_classes = 4\nreference_sha256 = "{sha256_file(root / "batch.npz")}"')
    (root / "statistics-only.toml").write_text(pinned, encoding="utf-8")  # a protocol may pin the file it reads
    return {"root": root, "samples": root / "samples.npz"}


def score(batch: dict[str, Path], protocol: str, results: Path, weights: Path, *extra: str) -> dict:
    code = main(["score", "--protocol", str(batch["root"] / protocol), "--samples", str(batch["samples"]),
                 "--data-dir", str(batch["root"]), "--results-dir", str(results), "--weights-dir", str(weights),
                 "--trust-weights", "--device", "cpu", "--cache-dir", str(results / "cache"), "--quiet", *extra])
    assert code == 0
    (path,) = results.glob("*.json")
    return json.loads(path.read_text(encoding="utf-8"))


def test_fid_and_sfid_read_the_batch_statistics_and_precision_recall_its_images(batch, inception_weights, tmp_path):
    record = score(batch, "full.toml", tmp_path / "results", inception_weights, "--export-stats",
                   str(tmp_path / "generated.npz"))
    reference = {s.name: s for s in read_statistics_file(batch["root"] / "batch.npz").statistics}
    generated = {s.name: s for s in read_statistics_file(tmp_path / "generated.npz").statistics}

    for key, name in (("fid", "mu"), ("sfid", "mu_s")):
        expected, _ = evaluator_frechet_distance(key, generated[name].as_dict(), reference[name].as_dict())
        assert record["metrics"][key]["value"] == pytest.approx(expected, rel=1e-9)
        assert record["reference"]["statistics"][key]["statistics"] == name
    assert generated["mu"].count == 8 and generated["mu_s"].mu.shape == (2023,)
    assert 0 <= record["metrics"]["precision"]["value"] <= 1 and 0 <= record["metrics"]["recall"]["value"] <= 1
    assert record["reference"]["cache_hits"] == {"inception": False}  # the batch's images, for precision/recall
    assert record["reference"]["sha256"] == sha256_file(batch["root"] / "batch.npz")
    assert record["reference"]["num_images"] == 8 and record["samples"]["conditions"] == "classes"
    assert record["reference"]["data_info"]["format"] == "ADM reference batch"


def test_a_protocol_whose_two_set_metrics_all_read_statistics_extracts_nothing_of_the_reference(
        batch, inception_weights, tmp_path):
    record = score(batch, "statistics-only.toml", tmp_path / "results", inception_weights)
    assert "mismatch" not in record["reference"]  # the pinned file itself
    assert record["reference"]["cache_hits"] == {}
    assert set(record["reference"]["statistics"]) == {"fid", "sfid"}
    assert not list((tmp_path / "results" / "cache").rglob("*.safetensors"))  # no reference features were made


def small_imagenet256(path: Path) -> Path:
    """imagenet256 as shipped, with its covariance and split-size guards loosened for 8 samples."""
    raw = tomllib.loads((Path(genbench.protocols.__file__).parent / "imagenet256.toml").read_text(encoding="utf-8"))
    raw["metrics"]["is"]["split_size"] = 4
    for key in ("fid", "sfid"):
        raw["metrics"][key]["allow_singular_covariance"] = True
    lines = [f"{k} = {json.dumps(v)}" for k, v in raw.items() if not isinstance(v, dict)]
    for table, content in raw.items():
        if isinstance(content, dict):
            for name, entry in (content.items() if table in ("extractors", "metrics") else [(None, content)]):
                lines.append(f"[{table}{'.' + name if name else ''}]")
                lines += [f"{k} = {json.dumps(v)}" for k, v in entry.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_imagenet256_runs_from_a_reference_batch_given_by_path(inception_weights, tmp_path):
    adm_batch(tmp_path / "VIRTUAL_imagenet256_labeled.npz", 4, 256)
    np.savez(tmp_path / "samples.npz", make_images(seed=5, count=8, size=256).permute(0, 2, 3, 1).numpy())
    args = ["score", "--protocol", str(small_imagenet256(tmp_path / "imagenet256.toml")), "--samples",
            str(tmp_path / "samples.npz"), "--results-dir", str(tmp_path / "results"), "--weights-dir",
            str(inception_weights), "--trust-weights", "--device", "cpu", "--quiet",
            "--reference-file", str(tmp_path / "VIRTUAL_imagenet256_labeled.npz"),
            "--drop-metrics", "precision,recall,fd_dinov2"]
    assert main(args) == 0
    (path,) = (tmp_path / "results").glob("*.json")
    record = json.loads(path.read_text(encoding="utf-8"))
    assert set(record["metrics"]) == {"fid", "sfid", "is"}
    assert record["samples"]["conditions"] == "classes" and record["protocol"]["name"] == "imagenet256"
    assert set(record["protocol"]["definition"]["extractors"]) == {"inception"}  # dinov2 left with fd_dinov2
    assert record["reference"]["sha256"] == sha256_file(tmp_path / "VIRTUAL_imagenet256_labeled.npz")


def test_a_batch_of_another_size_and_a_missing_batch_are_one_line(batch, inception_weights, tmp_path, capsys):
    np.savez(tmp_path / "samples.npz", make_images(seed=5, count=2, size=256).permute(0, 2, 3, 1).numpy())
    args = ["score", "--protocol", "imagenet256", "--samples", str(tmp_path / "samples.npz"), "--results-dir",
            str(tmp_path), "--data-dir", str(tmp_path), "--drop-metrics", "fd_dinov2", "--weights-dir",
            str(inception_weights), "--trust-weights"]
    assert main(args) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"genbench: error: VIRTUAL_imagenet256_labeled.npz not found under {tmp_path}: download it from "
        f"https://openaipublic.blob.core.windows.net/diffusion/jul-2021/ref_batches/imagenet/256/"
        f"VIRTUAL_imagenet256_labeled.npz into that directory (pass it with --data-dir or $GENBENCH_DATA) or give it "
        f"with --reference-file PATH")
    assert main([*args, "--reference-file", str(batch["root"] / "batch.npz")]) == 2
    assert ("batch.npz: arr_0 holds 32x32 images with 3 channels; the protocol evaluates 256x256 with 3 (a reference "
            "batch is used at its own size") in capsys.readouterr().err


CLASS_NOISE = '''
"""A class-conditional model for the test: noise whose brightness is the class."""
from pathlib import Path
import torch
from genbench import hookimpl
from genbench.models import (GenerativeModel, ImageFormat, ModelSpec, SampleBatch, Task, TrainingReport,
                             load_checkpoint, save_checkpoint)


class ClassNoise(GenerativeModel):
    task = Task.CLASS_CONDITIONAL

    def __init__(self, config):
        super().__init__()
        self.config = config

    @classmethod
    def create(cls, image_format: ImageFormat, config, num_classes=None):
        return cls({"size": image_format.size, "channels": image_format.channels, "classes": num_classes})

    @classmethod
    def load(cls, path: Path, device):
        return cls(load_checkpoint(path, "class-noise").config)

    def save(self, path: Path):
        save_checkpoint(path, "class-noise", self.config, {})

    def train(self, data, recipe, seed, device, progress=True):
        return TrainingReport(epochs=0, steps=0, seconds=0.0, seconds_per_epoch=0.0, final_loss=0.0)

    def sample(self, batch: SampleBatch) -> torch.Tensor:
        size, channels = self.config["size"], self.config["channels"]
        level = torch.tensor(batch.labels, dtype=torch.float32).view(-1, 1, 1, 1) * 60 + 30
        return (level + batch.randn(channels, size, size) * 20).clamp(0, 255).round().to(torch.uint8)

    @property
    def image_format(self):
        return ImageFormat(self.config["size"], self.config["channels"])

    def modules(self):
        return {}


@hookimpl
def genbench_models():
    return [ModelSpec(name="class-noise", description="class-conditional noise", model_class=ClassNoise)]
'''


def test_a_class_conditional_run_is_scored_with_the_adm_metric_set(batch, inception_weights, plugin_installer,
                                                                    tmp_path):
    plugin_installer.install("class-noise", "class-noise", "class_noise", CLASS_NOISE)
    from class_noise import ClassNoise

    from genbench.models import ImageFormat

    checkpoint = tmp_path / "class-noise.safetensors"
    ClassNoise.create(ImageFormat(32, 3), {}, 4).save(checkpoint)
    assert main(["run", "--plugin", "class-noise", "--protocol", str(batch["root"] / "full.toml"), "--checkpoint",
                 str(checkpoint), "--data-dir", str(batch["root"]), "--results-dir", str(tmp_path / "results"),
                 "--weights-dir", str(inception_weights), "--trust-weights", "--device", "cpu", "--quiet"]) == 0
    (path,) = (tmp_path / "results").glob("*.json")
    record = json.loads(path.read_text(encoding="utf-8"))
    assert [record["metrics"][key]["metric"] for key in ("fid", "sfid", "is", "precision", "recall")] == [
        "adm_fid", "sfid", "adm_isc", "adm_precision", "adm_recall"]
    assert record["plugin"]["task"] == "class-conditional" and record["samples"]["conditions"] == "classes"
    assert set(record["reference"]["statistics"]) == {"fid", "sfid"}
    assert record["reference"]["cache_hits"] == {"inception": False}
