"""torch-fidelity's InceptionV3 as a genbench extractor: numbers equal torch-fidelity's, weights checked, cache kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch_fidelity
from imagesets import make_images, write_folder

from genbench.cli import main
from genbench.datasets.base import ImageDataset
from genbench.errors import MetricError, WeightsError
from genbench.evaluation.compare import CHUNK
from genbench.extractors.base import ExtractorContext
from genbench.extractors.feature_cache import cached_features as reference_features
from genbench.extractors.feature_pass import extract_features, select
from genbench.extractors.inception import build_inception_extractor, torch_fidelity_inception
from genbench.metrics.base import MetricInputs
from genbench.metrics.fidelity import FID, KID
from genbench.trust.hashing import sha256_file


def context(weights_dir: Path | None, trust: bool = True, cache_dir: Path | None = None) -> ExtractorContext:
    return ExtractorContext(torch.device("cpu"), weights_dir, trust, cache_dir or Path("unused"), None)


def pool_features(extractor, images: torch.Tensor) -> dict[str, torch.Tensor]:
    return select(extract_features({"inception": extractor}, images, None, CHUNK), "inception")


def metric(spec, generated, reference, **settings) -> float:
    return spec.compute(MetricInputs(generated, reference, {**spec.defaults, **settings, "feature": "64"})).value


def test_compare_json_equals_torch_fidelity_calculate_metrics(inception_weights, tmp_path, capsys):
    """FID, KID, IS and precision/recall of `genbench compare` equal torch-fidelity's on the same files and weights."""
    generated = write_folder(make_images(seed=1, count=12), tmp_path / "generated")
    reference = write_folder(make_images(seed=2, count=12, shift=60), tmp_path / "reference")
    code = main(["compare", str(generated), str(reference), "--metrics", "fid,kid,isc,prc", "--kid-subset-size", "8",
                 "--isc-splits", "2", "--allow-singular-covariance", "--weights-dir", str(inception_weights),
                 "--trust-weights", "--device", "cpu", "--json"])
    ours = json.loads(capsys.readouterr().out)
    theirs = torch_fidelity.calculate_metrics(
        input1=str(generated), input2=str(reference), cuda=False, fid=True, kid=True, isc=True, prc=True,
        kid_subset_size=8, isc_splits=2, batch_size=CHUNK, save_cpu_ram=True, cache=False, verbose=False,
        feature_extractor="inception-v3-compat", feature_layer_prc="2048",  # torch-fidelity's prc defaults to VGG16
        feature_extractor_weights_path=str(inception_weights / torch_fidelity_inception().filename),
    )
    assert code == 0
    assert sorted(ours) == sorted(theirs)
    assert theirs["frechet_inception_distance"] > 1.0 and theirs["inception_score_mean"] > 1.0
    for key, value in theirs.items():
        assert ours[key] == pytest.approx(value, rel=1e-5), key


def test_identical_sets_give_zero_and_a_shift_counts_more_than_a_perturbation(inception_weights):
    extractor = build_inception_extractor({"features": ["64"]}, context(inception_weights))
    images = make_images(seed=3, count=32)
    generator = torch.Generator().manual_seed(4)
    perturbed = (images.float() + torch.randint(-3, 4, images.shape, generator=generator)).clamp(0, 255)
    shifted = (images.float() + 70).clamp(0, 255)
    base = pool_features(extractor, images)
    near = pool_features(extractor, perturbed.to(torch.uint8))
    far = pool_features(extractor, shifted.to(torch.uint8))
    fid_far = metric(FID, base, far, allow_singular_covariance=True)
    kid_far = metric(KID, base, far, subset_size=16, subsets=50)
    assert metric(FID, base, base, allow_singular_covariance=True) == pytest.approx(0.0, abs=1e-6 * fid_far)
    assert abs(metric(KID, base, base, subset_size=16, subsets=50)) < 0.05 * kid_far
    assert 0 < metric(FID, base, near, allow_singular_covariance=True) < fid_far


def test_grey_images_are_repeated_to_three_channels(inception_weights):
    extractor = build_inception_extractor({"features": ["64"]}, context(inception_weights))
    grey = make_images(seed=5, count=4, channels=1)
    assert torch.equal(pool_features(extractor, grey)["64"], pool_features(extractor, grey.repeat(1, 3, 1, 1))["64"])


def test_features_are_float64_and_the_weights_hash_is_recorded(inception_weights):
    extractor = build_inception_extractor({}, context(inception_weights))
    features = extractor.extract(make_images(seed=6, count=2))
    assert {k: (v.dtype, tuple(v.shape)) for k, v in features.items()} == {
        "2048": (torch.float64, (2, 2048)), "logits_unbiased": (torch.float64, (2, 1008))}
    assert extractor.weights_sha256 == sha256_file(inception_weights / torch_fidelity_inception().filename)
    assert extractor.describe()["weights_sha256"] == extractor.weights_sha256


def test_reference_cache_is_written_once_reused_and_rebuilt_after_corruption(inception_weights, tmp_path):
    extractor = build_inception_extractor({"features": ["64"]}, context(inception_weights))
    calls = []
    original = extractor.extract
    extractor.extract = lambda images, captions=None: calls.append(len(images)) or original(images, captions)
    dataset = ImageDataset(make_images(seed=7, count=6))
    args = (dataset, {"dataset": "made-in-test"}, {"inception": extractor}, {"inception": {"kind": "inception"}},
            CHUNK, tmp_path / "cache")

    first, hits_first = reference_features(*args)
    files = list((tmp_path / "cache" / "reference").glob("*.safetensors"))
    second, hits_second = reference_features(*args)
    assert (hits_first, hits_second, calls, len(files)) == ({"inception": False}, {"inception": True}, [6], 1)
    assert torch.equal(first["inception/64"], second["inception/64"])

    files[0].write_bytes(files[0].read_bytes()[:-16])  # truncated
    rebuilt, hits_rebuilt = reference_features(*args)
    assert hits_rebuilt == {"inception": False} and calls == [6, 6]
    assert torch.equal(rebuilt["inception/64"], first["inception/64"])


def test_an_untrusted_weights_file_is_refused(inception_weights):
    path = inception_weights / torch_fidelity_inception().filename
    digest = sha256_file(path)
    with pytest.raises(WeightsError) as error:
        build_inception_extractor({}, context(inception_weights, trust=False))
    assert str(error.value) == (
        f"{path} has SHA-256 {digest[:16]}..., not the official weights-inception-2015-12-05-6726825d.pth "
        f"(6726825d0af5f729...); it would be unpickled, so pass --trust-weights to use it anyway")


def test_missing_weights_is_one_line_naming_file_and_source(tmp_path, capsys):
    empty = tmp_path / "weights"
    empty.mkdir()
    folder = write_folder(make_images(seed=8, count=2), tmp_path / "images")
    code = main(["compare", str(folder), str(folder), "--weights-dir", str(empty), "--device", "cpu"])
    hub = tmp_path / "torch-home" / "hub" / "checkpoints"
    assert code == 2
    assert capsys.readouterr().err == (
        f"genbench: error: weights file 'weights-inception-2015-12-05-6726825d.pth' not found (looked in: {empty}, "
        f"{hub}; downloads are off when a weights directory is given); download it from "
        "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
        " and put it in --weights-dir or $GENBENCH_WEIGHTS\n")


def test_fewer_samples_than_the_kid_subset_is_an_error_naming_the_numbers(inception_weights, tmp_path, capsys):
    generated = write_folder(make_images(seed=9, count=3), tmp_path / "generated")
    reference = write_folder(make_images(seed=10, count=3), tmp_path / "reference")
    code = main(["compare", str(generated), str(reference), "--metrics", "kid", "--kid-subset-size", "4",
                 "--weights-dir", str(inception_weights), "--trust-weights", "--device", "cpu"])
    assert code == 2
    assert capsys.readouterr().err == ("genbench: error: kid: generated set has 3 samples, needs at least 4 "
                                       "(KID draws subsets of 4 without replacement)\n")


def test_nan_features_are_an_error_naming_the_metric():
    features = {"64": torch.tensor([[0.0, float("nan")], [1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)}
    with pytest.raises(MetricError, match=r"^fid: 1 of 3 generated feature rows contain NaN or Inf$"):
        metric(FID, features, features, allow_singular_covariance=True)
