"""Published statistics in and out: `reference --export-stats`, `--reference-file` with statistics only, `compare`
between statistics files equal to pytorch-fid's formula, and what a reference of statistics alone refuses."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from cleanfid.fid import frechet_distance as pytorch_fid_formula  # pytorch-fid's calculate_frechet_distance, verbatim
from imagesets import make_images, write_folder
from torch_fidelity.metric_fid import fid_features_to_statistics

from genbench.cli import main
from genbench.datasets.base import DataRequest
from genbench.datasets.digits import load_digits_split
from genbench.datasets.reference_file import load_reference_file
from genbench.errors import MetricError
from genbench.evaluation.compare import compare_folders, folder_features
from genbench.evaluation.compare_statistics import compare
from genbench.evaluation.options import CompareOptions
from genbench.evaluation.reference_plan import plan_reference
from genbench.evaluation.samples import load_image_folder
from genbench.evaluation.session import build_extractors
from genbench.extractors.base import ExtractorContext
from genbench.extractors.inception import build_inception_extractor
from genbench.protocols.additions import drop_metrics
from genbench.protocols.protocol import load_protocol_file
from genbench.registry import load_registry
from genbench.storage.statistics_files import Space, Statistics, read_statistics_file, write_statistics_file
from genbench.trust.hashing import sha256_file

DIGITS_SHA256 = "57f081135ba8d8752b5977b3a1c3b43229a2484a7457acf9104ff12b275c6096"
ONLY_FEATURES = "kid,density,coverage"


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> dict[str, Path]:
    """200 training digits as samples, the digits reference statistics exported once, one cache for the module."""
    root = tmp_path_factory.mktemp("digits-statistics")
    samples = load_digits_split(DataRequest("train", 16, 1)).images[:200]
    np.savez(root / "samples.npz", samples.permute(0, 2, 3, 1).numpy())
    paths = {"root": root, "samples": root / "samples.npz", "cache": root / "cache", "stats": root / "reference.npz"}
    assert main(["reference", "--protocol", "digits", "--export-stats", str(paths["stats"]), "--cache-dir",
                 str(paths["cache"]), "--device", "cpu", "--quiet"]) == 0
    return paths


def score(digits: dict[str, Path], results: Path, *extra: str) -> dict:
    code = main(["score", "--protocol", "digits", "--samples", str(digits["samples"]), "--results-dir", str(results),
                 "--cache-dir", str(digits["cache"]), "--device", "cpu", "--quiet", *extra])
    assert code == 0
    (path,) = results.glob("*.json")
    return json.loads(path.read_text(encoding="utf-8"))


def test_reference_export_stats_writes_mu_sigma_of_the_protocols_frechet_space(digits):
    read = read_statistics_file(digits["stats"])
    (item,) = read.statistics
    reference = load_digits_split(DataRequest("test", 16, 1))
    assert read.format == "genbench statistics" and item.name == "mu" and item.count == len(reference) == 360
    assert (item.space.kind, item.space.feature, item.space.identity) == ("classifier", "penultimate", DIGITS_SHA256)
    protocol = load_registry().protocol("digits")
    context = ExtractorContext(torch.device("cpu"), None, False, digits["cache"], None)
    classifier = build_extractors(protocol, load_registry(), context)["classifier"]
    rows = torch.cat([classifier.extract(reference.images[i:i + 50])["penultimate"] for i in range(0, 360, 50)])
    with np.load(digits["stats"], allow_pickle=False) as plain:  # what pytorch-fid and clean-fid read
        assert np.array_equal(plain["mu"], rows.numpy().mean(0))  # the protocol's chunks of 50, np.mean and np.cov
        assert np.allclose(plain["sigma"], np.cov(rows.numpy(), rowvar=False), rtol=1e-12, atol=1e-15)


def test_a_statistics_file_as_reference_gives_the_images_fd_under_its_own_fingerprint(digits, tmp_path):
    images = score(digits, tmp_path / "images")
    from_file = score(digits, tmp_path / "file", "--reference-file", str(digits["stats"]), "--drop-metrics",
                      ONLY_FEATURES, "--allow-reference-mismatch")

    for key in ("fd", "fd_infinity"):
        assert from_file["metrics"][key]["value"] == pytest.approx(images["metrics"][key]["value"], rel=1e-9)
    assert from_file["metrics"]["is"]["value"] == images["metrics"]["is"]["value"]
    assert set(from_file["metrics"]) == set(images["metrics"]) - set(ONLY_FEATURES.split(","))
    section = from_file["reference"]
    assert section["sha256"] == sha256_file(digits["stats"]) and section["num_images"] == 0
    assert section["statistics"]["fd"]["statistics"] == "mu" and section["statistics"]["fd"]["count"] == 360
    assert section["mismatch"]["expected"] == load_protocol_file(
        Path(__file__).parents[2] / "genbench/protocols/digits.toml").data.reference_sha256
    assert from_file["protocol"]["fingerprint"] != images["protocol"]["fingerprint"]
    assert "held fixed" in from_file["metrics"]["fd"]["interval"]["method"]


def test_a_pinned_protocol_refuses_another_file_and_statistics_alone_refuse_feature_metrics(digits, tmp_path, capsys):
    args = ["score", "--protocol", "digits", "--samples", str(digits["samples"]), "--results-dir", str(tmp_path),
            "--cache-dir", str(digits["cache"]), "--reference-file", str(digits["stats"])]
    assert main([*args, "--drop-metrics", ONLY_FEATURES]) == 2
    assert f"has identity {sha256_file(digits['stats'])}, the protocol pins" in capsys.readouterr().err
    assert main([*args, "--allow-reference-mismatch"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (f"genbench: error: metric 'kid' (kid) needs the reference images' classifier/penultimate "
                   f"features, and {digits['stats']} holds statistics only (mu: classifier/penultimate (weights="
                   f"digits_classifier.safetensors)), no images (arr_0): use a reference with images, "
                   f"or leave the metric out with --drop-metrics kid")
    assert main(["reference", "--protocol", "digits", "--reference-file", str(digits["stats"]), "--results-dir",
                 str(tmp_path), "--drop-metrics", ONLY_FEATURES, "--allow-reference-mismatch"]) == 2
    assert "the reference row compares two halves of the reference images, and the reference has 0" in \
        capsys.readouterr().err
    assert not list(tmp_path.glob("*.json"))


def test_statistics_in_another_extractors_space_or_of_other_weights_are_refused(digits, tmp_path, capsys):
    (item,) = read_statistics_file(digits["stats"]).statistics
    other = Space(item.space.kind, item.space.feature, item.space.settings, "0" * 64, "made with other weights")
    write_statistics_file(tmp_path / "other.npz", [Statistics("mu", item.mu, item.sigma, other)], {})
    args = ["score", "--protocol", "digits", "--samples", str(digits["samples"]), "--results-dir", str(tmp_path),
            "--drop-metrics", ONLY_FEATURES, "--allow-reference-mismatch", "--reference-file"]
    assert main([*args, str(tmp_path / "other.npz")]) == 2
    assert f"records mu as made with classifier weights {'0' * 64}, this evaluation's are {DIGITS_SHA256}" in \
        capsys.readouterr().err
    np.savez(tmp_path / "inception.npz", mu=np.zeros(2048), sigma=np.eye(2048))  # pool_3 by convention
    assert main([*args, str(tmp_path / "inception.npz")]) == 2
    assert ("metric 'fd' (fid) compares with the reference in classifier/penultimate (weights="
            "digits_classifier.safetensors) and") in capsys.readouterr().err


def statistics_file(path: Path, seed: int, spatial: bool = True) -> Path:
    rng = np.random.default_rng(seed)
    arrays = {}
    for name, dim in (("mu", 48), ("mu_s", 24))[:2 if spatial else 1]:
        rows = rng.normal(size=(200, dim)) * rng.uniform(0.5, 2.0, size=dim) + rng.normal(size=dim)
        arrays[name], arrays["sigma" + name[2:]] = rows.mean(0), np.cov(rows, rowvar=False)
    np.savez(path, **arrays)
    return path


def test_compare_two_statistics_files_is_pytorch_fids_formula(tmp_path, capsys):
    a, b = statistics_file(tmp_path / "a.npz", 1), statistics_file(tmp_path / "b.npz", 2)
    out = compare(CompareOptions(a, b))
    with np.load(a) as fa, np.load(b) as fb:
        fid = pytorch_fid_formula(fa["mu"], fa["sigma"], fb["mu"], fb["sigma"])
        sfid = pytorch_fid_formula(fa["mu_s"], fa["sigma_s"], fb["mu_s"], fb["sigma_s"])
    assert set(out) == {"frechet_inception_distance", "sfid"}
    assert out["frechet_inception_distance"] == pytest.approx(fid, rel=1e-6)
    assert out["sfid"] == pytest.approx(sfid, rel=1e-6) and abs(out["sfid"] - out["frechet_inception_distance"]) > 1

    assert main(["compare", str(a), str(b), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == pytest.approx(out, rel=1e-12)
    only_pool = statistics_file(tmp_path / "c.npz", 3, spatial=False)
    assert set(compare(CompareOptions(a, only_pool))) == {"frechet_inception_distance"}


def test_compare_of_an_edm2_pickle_and_refusals(tmp_path, capsys):
    a = statistics_file(tmp_path / "a.npz", 1, spatial=False)
    with np.load(a) as fa:
        edm2 = {"fid": {"mu": fa["mu"] + 0.5, "sigma": fa["sigma"] * 1.5}, "num_images": 200}
    (tmp_path / "ref.pkl").write_bytes(pickle.dumps(edm2))
    out = compare(CompareOptions(a, tmp_path / "ref.pkl"))
    assert out["frechet_inception_distance"] == pytest.approx(
        pytorch_fid_formula(edm2["fid"]["mu"] - 0.5, edm2["fid"]["sigma"] / 1.5, edm2["fid"]["mu"],
                            edm2["fid"]["sigma"]), rel=1e-6)
    assert main(["compare", str(a), str(tmp_path / "ref.pkl"), "--metrics", "fid,kid"]) == 2
    assert "metric 'kid' needs the images themselves" in capsys.readouterr().err
    assert main(["compare", str(a), str(tmp_path / "ref.pkl"), "--metrics", "sfid"]) == 2
    assert f"sfid: {a} has no mu_s/sigma_s (it has: mu)" in capsys.readouterr().err
    space = Space("classifier", "penultimate")
    with np.load(a) as fa:
        write_statistics_file(tmp_path / "digits.npz", [Statistics("mu", fa["mu"], fa["sigma"], space)], {})
    assert main(["compare", str(a), str(tmp_path / "digits.npz")]) == 2
    assert "holds inception/2048 statistics" in capsys.readouterr().err


def test_a_folder_compares_with_a_statistics_file_in_torch_fidelity_inception_space(inception_weights, tmp_path):
    folder = write_folder(make_images(seed=3, count=12, size=16), tmp_path / "generated")
    reference = write_folder(make_images(seed=4, count=12, size=16, shift=30), tmp_path / "reference")
    common = {"weights_dir": inception_weights, "trust_weights": True, "device": "cpu", "cache_dir": tmp_path / "c"}
    folders = compare_folders(CompareOptions(folder, reference, metrics=("fid", "sfid"), allow_singular_covariance=True,
                                             **common))
    extractor = build_inception_extractor({"features": ["2048", "spatial"]}, ExtractorContext(
        torch.device("cpu"), inception_weights, True, tmp_path / "c", None))
    features = folder_features(load_image_folder(reference), "inception", extractor,
                               {"kind": "inception", "features": ["2048", "spatial"]}, tmp_path / "c")
    pool, spatial = (fid_features_to_statistics(features[k].double()) for k in ("2048", "spatial"))
    np.savez(tmp_path / "ref.npz", mu=pool["mu"], sigma=pool["sigma"], mu_s=spatial["mu"], sigma_s=spatial["sigma"])
    mixed = compare(CompareOptions(folder, tmp_path / "ref.npz", **common))
    # 12 images: singular covariances, where the folder route takes torch-fidelity's eigenvalues and the statistics
    # route pytorch-fid's sqrtm; they agree to rounding
    assert mixed["frechet_inception_distance"] == pytest.approx(folders["frechet_inception_distance"], rel=1e-6)
    assert mixed["sfid"] == pytest.approx(folders["sfid"], rel=1e-6)


def test_cifar10_50k_takes_a_published_statistics_file_and_keeps_its_fingerprint_with_images(tmp_path, capsys):
    registry = load_registry()
    protocol = registry.protocol("cifar10-50k")
    official = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
    assert protocol.fingerprint({"inception": official}, "0" * 64) == "715fbb2f1123624a"  # as before issue 21
    rows = np.random.default_rng(0).normal(size=(3000, 2048))
    np.savez(tmp_path / "cifar10-train.npz", mu=rows.mean(0), sigma=np.cov(rows, rowvar=False))
    assert main(["reference", "--protocol", "cifar10-50k", "--reference-file", str(tmp_path / "cifar10-train.npz"),
                 "--print-identity"]) == 0
    assert f'reference_sha256 = "{sha256_file(tmp_path / "cifar10-train.npz")}"' in capsys.readouterr().out

    reference = load_reference_file(DataRequest("train", 32, 3, options={"path": str(tmp_path / "cifar10-train.npz")}))
    extractors = {"inception": SimpleNamespace(identity=official)}
    with pytest.raises(MetricError, match=r"metric 'kid' \(kid\) needs the reference images' inception/2048 "
                                          r"features, and .* holds statistics only"):
        plan_reference(protocol, registry, extractors, reference)
    plan = plan_reference(drop_metrics(protocol, ("kid",)), registry, extractors, reference)
    assert set(plan.statistics) == {"fid"} and plan.extractors == ()
