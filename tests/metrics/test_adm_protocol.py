"""A protocol names the ADM evaluator's metric set: parsed, settings resolved, features found, sizes checked early."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import torch

from genbench.errors import MetricError
from genbench.evaluation.preflight import check_metric_requirements
from genbench.evaluation.session import build_extractors
from genbench.evaluation.settings import metric_settings
from genbench.extractors.base import ExtractorContext
from genbench.protocols.conditions import Conditions
from genbench.protocols.protocol import builtin_protocol_files, parse_protocol
from genbench.registry import load_registry

ADM_METRICS = {
    "fid": ("adm_fid", "2048"),
    "sfid": ("sfid", "spatial"),
    "is": ("adm_isc", "logits_unbiased"),
    "precision": ("adm_precision", "2048"),
    "recall": ("adm_recall", "2048"),
}


def adm_protocol(num_samples: int, keys: tuple[str, ...] = tuple(ADM_METRICS)):
    """cifar10-50k with the inception extractor's spatial feature and ADM metrics instead of its own."""
    path = next(p for p in builtin_protocol_files() if p.stem == "cifar10-50k")
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    raw["sampling"]["num_samples"] = num_samples
    raw["extractors"] = {"inception": {"kind": "inception", "features": ["2048", "logits_unbiased", "spatial"]}}
    raw["metrics"] = {key: {"metric": metric, "extractor": "inception", "feature": feature}
                      for key, (metric, feature) in ADM_METRICS.items() if key in keys}
    if "precision" in keys:
        raw["metrics"]["precision"]["distances"] = "float64"
    return parse_protocol(raw, source="adm.toml")


def test_a_protocol_names_the_adm_metrics_and_their_sizes_are_checked_before_any_work(inception_weights):
    registry = load_registry()
    protocol = adm_protocol(50000)
    settings = metric_settings(protocol, registry)
    assert settings["sfid"] == {"eps": 1e-6, "allow_singular_covariance": False, "feature": "spatial"}
    assert settings["is"] == {"split_size": 5000, "feature": "logits_unbiased"}
    assert settings["precision"]["distances"] == "float64" and settings["recall"]["distances"] == "float16"
    assert settings["recall"]["neighborhood"] == 3 and settings["recall"]["row_batch_size"] == 10000
    context = ExtractorContext(torch.device("cpu"), inception_weights, True, Path("unused"), None)
    extractors = build_extractors(protocol, registry, context)
    check_metric_requirements(protocol, registry, settings, extractors, 10000, Conditions())

    small = adm_protocol(2000, keys=("sfid", "is"))
    with pytest.raises(MetricError, match=r"^protocol 'cifar10-50k', metric 'sfid': sfid: generated set has 2000 "
                                          r"samples, needs at least 2024 \(a full-rank covariance of 2023-d "):
        check_metric_requirements(small, registry, metric_settings(small, registry), extractors, 10000, Conditions())
