"""`genbench score --metrics ... --bootstrap B`: metrics added to a protocol, in their own or the protocol's space."""

from __future__ import annotations

import json

import numpy as np
import pytest

from genbench.cli import EXIT_ERROR, main
from genbench.datasets.base import DataRequest
from genbench.datasets.digits import load_digits_split
from genbench.errors import ProtocolError
from genbench.protocols.additions import add_metrics
from genbench.registry import get_registry


def test_added_metrics_bring_their_extractors_or_use_the_protocols_features():
    registry = get_registry()
    digits = registry.protocol("digits")
    added = add_metrics(digits, registry.metric, ("fd_dinov2", "cmmd", "density", "fid_infinity"), bootstrap=50)
    assert added.extractors["dinov2"] == {"kind": "dinov2", "size": "vitl14"}
    assert added.extractors["clip_image"]["kind"] == "clip-image"
    entries = {m.key: m for m in added.metrics}
    assert (entries["fd_dinov2"].metric, entries["fd_dinov2"].extractor, entries["fd_dinov2"].feature) == \
        ("fd", "dinov2", "cls")
    assert (entries["fid_infinity"].extractor, entries["fid_infinity"].feature) == ("classifier", "penultimate")
    assert entries["density"].settings == {"nearest_k": 5}  # digits' own entry, kept; k-NN: no bootstrap
    two_set = {k for k, m in entries.items() if registry.metric(m.metric).needs_reference}
    assert two_set == {"fd", "fd_infinity", "fid_infinity", "kid", "density", "coverage", "fd_dinov2", "cmmd"}
    assert all(entries[k].settings["bootstrap"] == 50 for k in two_set - {"density", "coverage"})
    assert all("bootstrap" not in entries[k].settings for k in ("is", "confidence", "vendi", "density", "coverage"))
    assert added.fingerprint({}, "r") != digits.fingerprint({}, "r")
    assert add_metrics(digits, registry.metric, ()) is digits

    shapes = add_metrics(registry.protocol("shapes"), registry.metric, ("fid_infinity",))
    infinity = next(m for m in shapes.metrics if m.key == "fid_infinity")
    assert (infinity.extractor, infinity.feature) == ("clip", "image")


def test_unknown_additions_and_a_single_round_are_refused():
    registry = get_registry()
    with pytest.raises(ProtocolError, match=r"--metrics: cannot add 'prdc' \(choose from fd_dinov2, cmmd, density, "
                                            r"coverage, vendi, fid_infinity\)"):
        add_metrics(registry.protocol("digits"), registry.metric, ("prdc",))
    with pytest.raises(ProtocolError, match=r"--bootstrap must be 0 \(no interval\) or at least 2 rounds, got 1"):
        add_metrics(registry.protocol("digits"), registry.metric, (), bootstrap=1)


def test_score_with_added_metrics_and_bootstrap_writes_intervals(tmp_path, capsys):
    train_split = load_digits_split(DataRequest("train", 16, 1))
    npz = tmp_path / "samples.npz"
    np.savez(npz, train_split.images[:1000].permute(0, 2, 3, 1).squeeze(-1).numpy())
    code = main(["score", "--protocol", "digits", "--samples", str(npz), "--metrics", "fid_infinity",
                 "--bootstrap", "5", "--results-dir", str(tmp_path / "results"), "--device", "cpu", "--quiet"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "  95 % bootstrap interval [" in printed.out and "] (5 rounds)" in printed.out
    (path,) = (tmp_path / "results").glob("*.json")
    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["protocol"]["definition"]["metrics"]["fid_infinity"]["bootstrap"] == 5
    assert record["metrics"]["kid"]["interval"]["rounds"] == 5 and record["metrics"]["is"]["interval"] is None
    infinity = record["metrics"]["fid_infinity"]
    assert (infinity["extractor"], infinity["feature"], len(infinity["extras"]["points"])) == \
        ("classifier", "penultimate", 15)
    assert 0 <= record["metrics"]["fd"]["interval"]["low"] < record["metrics"]["fd"]["interval"]["high"]
    assert main(["score", "--protocol", "digits", "--samples", str(npz), "--metrics", "fd_dino",
                 "--results-dir", str(tmp_path / "results"), "--device", "cpu", "--quiet"]) == EXIT_ERROR
    assert "genbench: error: --metrics: cannot add 'fd_dino'" in capsys.readouterr().err
