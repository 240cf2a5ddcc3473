"""`genbench score`: a pixel-space protocol naming the `inception` extractor, on samples made elsewhere."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch_fidelity
from imagesets import make_images, write_folder

from genbench.cli import main
from genbench.datasets.base import DataRequest
from genbench.datasets.digits import load_digits_split
from genbench.datasets.shapes import load_shapes_split
from genbench.evaluation.samples import load_samples
from genbench.extractors.inception import torch_fidelity_inception
from genbench.protocols.protocol import load_protocol_file
from genbench.trust.hashing import sha256_file
from genbench.trust.reference_identity import reference_identity

PROTOCOL = """
name = "digits-inception"
version = 1
task = "unconditional"
description = "digits at 16x16 in torch-fidelity Inception space (first pooling features, for test speed)"

[data]
dataset = "digits"
image_size = 16
channels = 1
reference_split = "test"

[sampling]
num_samples = 40
shard_size = 40
feature_batch_size = 40

[extractors.inception]
kind = "inception"
features = ["64"]

[metrics.fid]
metric = "fid"
extractor = "inception"
feature = "64"
allow_singular_covariance = true

[metrics.kid]
metric = "kid"
extractor = "inception"
feature = "64"
subset_size = 20
subsets = 10

[metrics.precision]
metric = "precision"
extractor = "inception"
feature = "64"
"""


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> dict[str, Path]:
    """A protocol file and one feature cache for the module, so the reference set is extracted once."""
    root = tmp_path_factory.mktemp("score")
    protocol = root / "digits-inception.toml"
    protocol.write_text(PROTOCOL, encoding="utf-8")
    return {"protocol": protocol, "cache": root / "cache"}


def score(shared, samples: Path, weights: Path, results: Path) -> dict:
    code = main(["score", "--protocol", str(shared["protocol"]), "--samples", str(samples), "--results-dir",
                 str(results), "--weights-dir", str(weights), "--trust-weights", "--device", "cpu", "--cache-dir",
                 str(shared["cache"]), "--quiet"])
    assert code == 0
    (path,) = results.glob("*.json")
    return json.loads(path.read_text(encoding="utf-8"))


def test_score_folder_equals_torch_fidelity_and_is_recorded_as_external(shared, inception_weights, tmp_path):
    samples = write_folder(make_images(seed=1, count=40, size=16, channels=1), tmp_path / "samples")
    record = score(shared, samples, inception_weights, tmp_path / "results")

    reference = load_digits_split(DataRequest("test", 16, 1))
    reference_dir = write_folder(reference.images, tmp_path / "digits-test")
    theirs = torch_fidelity.calculate_metrics(
        input1=str(samples), input2=str(reference_dir), cuda=False, fid=True, feature_layer_fid="64", batch_size=40,
        save_cpu_ram=True, cache=False, verbose=False,
        feature_extractor_weights_path=str(inception_weights / torch_fidelity_inception().filename))
    digest = sha256_file(inception_weights / torch_fidelity_inception().filename)
    protocol = load_protocol_file(shared["protocol"])

    assert record["metrics"]["fid"]["value"] == pytest.approx(theirs["frechet_inception_distance"], rel=1e-5)
    assert record["plugin"]["name"] == "external"
    assert record["samples"]["num_samples"] == 40 and record["samples"]["conversion"] is None
    assert record["extractors"]["inception"]["weights_sha256"] == digest
    assert record["protocol"]["fingerprint"] == protocol.fingerprint({"inception": digest}, record["reference"]["sha256"])
    assert record["reference"]["sha256"] == reference_identity(reference)["sha256"]
    assert {k: record["reference"][k] for k in ("split", "num_images", "cache_hits")} == {
        "split": "test", "num_images": 360, "cache_hits": {"inception": False}}
    assert 0.0 <= record["metrics"]["precision"]["value"] <= 1.0 and record["metrics"]["kid"]["std"] > 0


def test_score_npz_with_another_count_reuses_the_cache_under_its_own_fingerprint(shared, inception_weights,
                                                                                 tmp_path):
    images = make_images(seed=2, count=30, size=16, channels=1)
    npz = tmp_path / "samples.npz"
    np.savez(npz, images.permute(0, 2, 3, 1).squeeze(-1).numpy())
    assert (load_samples(npz).images == load_samples(write_folder(images, tmp_path / "same")).images).all()

    record = score(shared, npz, inception_weights, tmp_path / "results")
    digest = sha256_file(inception_weights / torch_fidelity_inception().filename)
    assert record["reference"]["cache_hits"] == {"inception": True}
    assert record["protocol"]["definition"]["sampling"]["num_samples"] == 30
    standard = load_protocol_file(shared["protocol"]).fingerprint({"inception": digest}, record["reference"]["sha256"])
    assert record["protocol"]["fingerprint"] != standard


def test_samples_of_the_wrong_size_are_refused_in_one_line(shared, tmp_path, capsys):
    samples = write_folder(make_images(seed=3, count=4, size=32, channels=1), tmp_path / "big")
    code = main(["score", "--protocol", str(shared["protocol"]), "--samples", str(samples), "--results-dir",
                 str(tmp_path / "results"), "--quiet"])
    assert code == 2
    assert capsys.readouterr().err == (
        f"genbench: error: samples {samples} are 32x32; protocol 'digits-inception' evaluates 16x16 images "
        f"(resize them the way your model's paper does, then score again)\n")


def test_the_shapes_reference_split_scored_as_samples_with_its_captions_is_at_distance_zero(tmp_path, capsys):
    """A text-to-image protocol scored with a captions file: the reference split itself is at distance zero."""
    protocol = load_protocol_file(Path(__file__).parents[2] / "genbench" / "protocols" / "shapes.toml")
    reference = load_shapes_split(DataRequest("test", 32, 3, None, protocol.data.options))
    npz, captions = tmp_path / "test.npz", tmp_path / "captions.txt"
    np.savez(npz, reference.images.permute(0, 2, 3, 1).numpy())
    captions.write_text("\n".join(reference.captions) + "\n", encoding="utf-8")
    code = main(["score", "--protocol", "shapes", "--samples", str(npz), "--captions", str(captions),
                 "--results-dir", str(tmp_path / "results"), "--device", "cpu", "--quiet"])
    assert code == 0
    assert "plugin     external (samples read from" in capsys.readouterr().out
    (path,) = (tmp_path / "results").glob("*.json")
    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["samples"]["captions_file"] == str(captions)
    assert record["metrics"]["fd"]["value"] == pytest.approx(0.0, abs=1e-6)
    assert abs(record["metrics"]["kid"]["value"]) < 3 * record["metrics"]["kid"]["std"]
