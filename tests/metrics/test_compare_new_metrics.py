"""`genbench compare` with fd_dinov2, cmmd, density, coverage, vendi, fid_infinity and --bootstrap."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from imagesets import make_images, write_folder
from test_dinov2_clip_image import TINY_CLIP, tiny_clip_weights  # noqa: F401  (fixture)
from test_feature_metrics import numpy_cmmd_reference, numpy_prdc_density_coverage, numpy_vendi

from genbench.cli import EXIT_ERROR, main
from genbench.evaluation.compare import CompareOptions, compare_folders
from genbench.evaluation.samples import load_image_folder
from genbench.extractors.base import ExtractorContext
from genbench.extractors.clip_image import build_clip_image_extractor
from genbench.extractors.dinov2 import build_dinov2_extractor, write_random_dinov2
from genbench.extractors.inception import build_inception_extractor
from genbench.metrics.base import MetricInputs
from genbench.metrics.cmmd import CMMD
from genbench.metrics.frechet import FD
from genbench.protocols.additions import ADDABLE, Addition


@pytest.fixture(scope="module")
def weights(tmp_path_factory, inception_weights):
    """Random Inception weights plus a one-layer DINOv2 of ViT-L/14's width under dinov2-large/."""
    directory = tmp_path_factory.mktemp("compare-weights")
    for path in inception_weights.iterdir():
        shutil.copy(path, directory / path.name)
    write_random_dinov2(directory / "dinov2-large", "vitl14", num_hidden_layers=1)
    return directory


def folders(tmp_path):
    return (write_folder(make_images(seed=1, count=10), tmp_path / "generated"),
            write_folder(make_images(seed=2, count=8, shift=40), tmp_path / "reference"))


def test_compare_new_metrics_equal_direct_computations_with_intervals(weights, tmp_path, capsys):
    generated, reference = folders(tmp_path)
    common = ["--allow-singular-covariance", "--weights-dir", str(weights), "--trust-weights", "--device", "cpu",
              "--cache-dir", str(tmp_path / "cache"), "--json"]
    # a bootstrap of a 1024-d Fréchet distance is a thousand-dimensional sqrtm per round: kept to 2 rounds here
    assert main(["compare", str(generated), str(reference), "--metrics", "fd_dinov2", "--bootstrap", "2", *common]) == 0
    ours = json.loads(capsys.readouterr().out)
    assert main(["compare", str(generated), str(reference), "--metrics", "density,coverage,vendi", "--bootstrap", "20",
                 *common]) == 0
    ours.update(json.loads(capsys.readouterr().out))
    # density and coverage get no interval: a bootstrap's duplicated rows shrink their k-NN radii
    assert sorted(ours) == sorted(["fd_dinov2", "fd_dinov2_ci_low", "fd_dinov2_ci_high", "density", "coverage",
                                   "vendi"])
    context = ExtractorContext(torch.device("cpu"), weights, True, tmp_path, None)
    a, b = load_image_folder(generated), load_image_folder(reference)
    dinov2 = build_dinov2_extractor({}, context)
    fd = FD.compute(MetricInputs({"cls": dinov2.extract(a)["cls"]}, {"cls": dinov2.extract(b)["cls"]},
                                 {"feature": "cls", "allow_singular_covariance": True})).value
    assert ours["fd_dinov2"] == pytest.approx(fd, rel=1e-6) and fd > 0
    inception = build_inception_extractor({"features": ["2048"]}, context)
    pool_a, pool_b = inception.extract(a)["2048"].numpy(), inception.extract(b)["2048"].numpy()
    density, coverage = numpy_prdc_density_coverage(pool_b, pool_a, 5)
    assert (ours["density"], ours["coverage"]) == (pytest.approx(density), pytest.approx(coverage))
    assert ours["vendi"] == pytest.approx(numpy_vendi(pool_a), rel=1e-6)
    assert ours["fd_dinov2_ci_low"] <= ours["fd_dinov2_ci_high"]


def test_compare_cmmd_uses_clip_image_embeddings(weights, tiny_clip_weights, tmp_path, monkeypatch):  # noqa: F811
    generated, reference = folders(tmp_path)
    settings = {"model": TINY_CLIP, "pretrained": str(tiny_clip_weights)}
    monkeypatch.setitem(ADDABLE, "cmmd", Addition("cmmd", "clip_image", {"kind": "clip-image", **settings}, "image"))
    builder = build_clip_image_extractor
    out = compare_folders(CompareOptions(generated, reference, metrics=("cmmd",), weights_dir=weights, device="cpu",
                                         cache_dir=tmp_path / "cache"))
    clip = builder(settings, ExtractorContext(torch.device("cpu"), weights, True, tmp_path, None))
    x = clip.extract(load_image_folder(reference))["image"].numpy()
    y = clip.extract(load_image_folder(generated))["image"].numpy()
    assert out == {"cmmd": pytest.approx(numpy_cmmd_reference(x, y), rel=1e-6)}
    assert CMMD.defaults["sigma"] == 10.0


def test_compare_refuses_one_bootstrap_round_and_unknown_metrics(tmp_path, capsys):
    generated, reference = folders(tmp_path)
    assert main(["compare", str(generated), str(reference), "--bootstrap", "1"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "genbench: error: --bootstrap must be 0 (no interval) or at least 2 rounds, got 1" in err
    assert main(["compare", str(generated), str(reference), "--metrics", "fd_dino"]) == EXIT_ERROR
    assert "unknown metric 'fd_dino' (choose from fid, kid, isc, prc, fd_dinov2, cmmd" in capsys.readouterr().err


def test_a_folder_compared_with_itself_is_at_distance_zero_and_said_to_be_identical(weights, tmp_path, capsys):
    generated, _ = folders(tmp_path)
    copy = shutil.copytree(generated, tmp_path / "copy")
    assert main(["compare", str(generated), str(copy), "--metrics", "fid,kid", "--kid-subset-size", "5",
                 "--allow-singular-covariance", "--weights-dir", str(weights), "--trust-weights", "--device", "cpu",
                 "--cache-dir", str(tmp_path / "cache"), "--json"]) == 0
    captured = capsys.readouterr()
    values = json.loads(captured.out)
    assert values["frechet_inception_distance"] == 0.0  # round-off below zero is clamped
    assert ("genbench: the two folders hold identical images: their distances are 0 up to round-off (clamped at 0)"
            in captured.err)
