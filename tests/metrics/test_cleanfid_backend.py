"""clean-fid backend: genbench's features and numbers equal clean-fid's own compute_fid / compute_kid."""

from __future__ import annotations

from pathlib import Path

import cleanfid.fid
import numpy as np
import pytest
import torch
from cleanfid.features import InceptionV3W
from imagesets import make_images, write_folder

from genbench.errors import WeightsError
from genbench.extractors.base import ExtractorContext
from genbench.extractors.cleanfid_backend import build_cleanfid_extractor, torchscript_inception
from genbench.metrics.base import MetricInputs
from genbench.metrics.cleanfid_metrics import CLEAN_FID, CLEAN_KID
from genbench.trust.hashing import sha256_file

CPU = torch.device("cpu")


def context(weights_dir: Path | None, trust: bool = True) -> ExtractorContext:
    return ExtractorContext(CPU, weights_dir, trust, Path("unused"), None)


def eigen_sqrtm(matrix, disp=True):
    """A matrix with the trace of ``scipy.linalg.sqrtm(matrix)`` — all clean-fid's ``frechet_distance`` reads.

    scipy's sqrtm of a 2048×2048 product takes 20 s and more on 2 cores; both sides of each
    comparison below use this stand-in, so they still compare everything clean-fid does around it.
    """
    root = np.diag(np.sqrt(np.linalg.eigvals(matrix).astype(complex)))
    return root if disp else (root, 0.0)


def clean_metric(spec, generated, reference, **settings) -> float:
    return spec.compute(MetricInputs(generated, reference, {**spec.defaults, **settings, "feature": "2048"})).value


@pytest.mark.parametrize("mode", ["clean", "legacy_tensorflow"])
def test_torchscript_modes_equal_compute_fid_and_compute_kid(mode, torchscript_weights, tmp_path, monkeypatch):
    monkeypatch.setattr(cleanfid.fid.linalg, "sqrtm", eigen_sqrtm)
    generated_images, reference_images = make_images(seed=1, count=10), make_images(seed=2, count=10, shift=40)
    generated_dir = write_folder(generated_images, tmp_path / "generated")
    reference_dir = write_folder(reference_images, tmp_path / "reference")
    extractor = build_cleanfid_extractor({"mode": mode}, context(torchscript_weights))
    generated, reference = extractor.extract(generated_images), extractor.extract(reference_images)

    network = InceptionV3W(str(torchscript_weights), download=False, resize_inside=mode == "legacy_tensorflow")
    folder = dict(mode=mode, num_workers=0, batch_size=10, device=CPU, verbose=False)
    assert torch.equal(generated["2048"], torch.from_numpy(
        cleanfid.fid.get_folder_features(str(generated_dir), network, **folder)).double())
    theirs_fid = cleanfid.fid.compute_fid(str(generated_dir), str(reference_dir), custom_feat_extractor=network,
                                          **folder)
    monkeypatch.setattr(cleanfid.fid, "build_feature_extractor", lambda *args, **kwargs: network)
    np.random.seed(0)
    theirs_kid = cleanfid.fid.compute_kid(str(generated_dir), str(reference_dir), **folder)

    assert theirs_fid > 0 and theirs_kid > 0
    assert clean_metric(CLEAN_FID, generated, reference, allow_singular_covariance=True) == pytest.approx(
        theirs_fid, rel=1e-5)
    assert clean_metric(CLEAN_KID, generated, reference, subset_size=10, subsets=100, rng_seed=0) == pytest.approx(
        theirs_kid, rel=1e-5)


def test_legacy_pytorch_mode_reads_pytorch_fid_weights_from_the_hub_cache(pytorch_fid_hub, tmp_path):
    """The random weights sit where torch hub keeps pytorch-fid's file; clean-fid itself loads them from there."""
    generated_images, reference_images = make_images(seed=3, count=6), make_images(seed=4, count=6, shift=40)
    generated_dir = write_folder(generated_images, tmp_path / "generated")
    reference_dir = write_folder(reference_images, tmp_path / "reference")
    extractor = build_cleanfid_extractor({"mode": "legacy_pytorch"}, context(None, trust=False))
    generated, reference = extractor.extract(generated_images), extractor.extract(reference_images)

    np.random.seed(0)
    theirs = cleanfid.fid.compute_kid(str(generated_dir), str(reference_dir), mode="legacy_pytorch", num_workers=0,
                                      batch_size=6, device=CPU, verbose=False, use_dataparallel=False)
    assert extractor.weights_sha256 == sha256_file(pytorch_fid_hub)
    assert clean_metric(CLEAN_KID, generated, reference, subset_size=6, subsets=100, rng_seed=0) == pytest.approx(
        theirs, rel=1e-5)


def test_the_torchscript_model_needs_trust_because_no_official_hash_is_pinned(torchscript_weights):
    path = torchscript_weights / torchscript_inception().filename
    with pytest.raises(WeightsError) as error:
        build_cleanfid_extractor({"mode": "clean"}, context(torchscript_weights, trust=False))
    assert str(error.value) == (
        f"{path} has SHA-256 {sha256_file(path)[:16]}..., not a release genbench can check (no official SHA-256 is "
        f"pinned for inception-2015-12-05.pt); it would be unpickled, so pass --trust-weights to use it anyway")
