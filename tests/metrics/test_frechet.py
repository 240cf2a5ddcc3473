"""genbench's Cholesky route to FID equals torch-fidelity's eigenvalue route; precision/recall is computed once."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch_fidelity.metric_fid
import torch_fidelity.metric_prc
from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_features_to_statistics, fid_statistics_to_metric

from genbench.metrics.base import MetricInputs
from genbench.metrics.blas import one_blas_thread
from genbench.metrics.fidelity import FID, PRC_DEFAULTS, PRECISION, RECALL
from genbench.metrics.frechet import FID_INFINITY
from genbench.metrics.frechet_distance import frechet_distance, trace_sqrt_product


def correlated(rng: np.random.Generator, n: int, dim: int, shift: float, scale: float) -> torch.Tensor:
    """n samples of a Gaussian with a random full covariance (features are correlated, like a network's)."""
    mixing = np.eye(dim) + scale * rng.standard_normal((dim, dim)) / np.sqrt(dim)
    return torch.from_numpy(rng.standard_normal((n, dim)) @ mixing + shift)


def torch_fidelity_fid(a: torch.Tensor, b: torch.Tensor) -> float:
    return fid_statistics_to_metric(fid_features_to_statistics(a), fid_features_to_statistics(b), False)[KEY_METRIC_FID]


CASES = {  # name: (n1, n2, dim, shift of the second set, mixing scale of the second set)
    "distinct": (600, 500, 64, 0.5, 1.0),
    "close": (3000, 3000, 32, 0.0, 0.0),
    "wide": (700, 900, 256, 0.1, 2.0),
}


@pytest.mark.parametrize("case", CASES)
def test_the_cholesky_route_equals_torch_fidelity_within_1e_9(case):
    n1, n2, dim, shift, scale = CASES[case]
    rng = np.random.default_rng(sum(map(ord, case)))
    a, b = correlated(rng, n1, dim, 0.0, 1.0), correlated(rng, n2, dim, shift, scale)
    stat_a, stat_b = fid_features_to_statistics(a), fid_features_to_statistics(b)
    assert trace_sqrt_product(stat_a["sigma"], stat_b["sigma"]) is not None  # the fast route was taken
    expected = torch_fidelity_fid(a, b)
    assert frechet_distance(stat_a, stat_b) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(stat_b, stat_a) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("n1, n2", [(40, 400), (400, 40), (30, 50)])
def test_a_rank_deficient_covariance_falls_back_to_torch_fidelity(n1, n2):
    rng = np.random.default_rng(n1 + n2)
    a, b = correlated(rng, n1, 64, 0.0, 1.0), correlated(rng, n2, 64, 0.2, 1.0)  # fewer samples than dimensions
    stat_a, stat_b = fid_features_to_statistics(a), fid_features_to_statistics(b)
    assert trace_sqrt_product(stat_a["sigma"], stat_b["sigma"]) is None
    assert frechet_distance(stat_a, stat_b) == torch_fidelity_fid(a, b)


def test_a_constant_feature_makes_the_covariance_singular():
    rng = np.random.default_rng(3)
    a, b = correlated(rng, 300, 16, 0.0, 1.0), correlated(rng, 300, 16, 0.0, 1.0)
    a[:, 5] = 1.0
    b[:, 5] = 2.0
    stat_a, stat_b = fid_features_to_statistics(a), fid_features_to_statistics(b)
    assert trace_sqrt_product(stat_a["sigma"], stat_b["sigma"]) is None
    assert frechet_distance(stat_a, stat_b) == torch_fidelity_fid(a, b)


def test_the_fid_metric_uses_the_cholesky_route():
    rng = np.random.default_rng(11)
    a, b = correlated(rng, 300, 32, 0.0, 1.0), correlated(rng, 200, 32, 1.0, 1.0)
    value = FID.compute(MetricInputs({"pool": a}, {"pool": b}, {**FID.defaults, "feature": "pool"})).value
    assert value == pytest.approx(torch_fidelity_fid(a, b), rel=1e-9)


def test_precision_and_recall_share_one_distance_computation(monkeypatch):
    calls = []
    original = torch_fidelity.metric_prc.prc_features_to_metric

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(torch_fidelity.metric_prc, "prc_features_to_metric", counted)
    rng = np.random.default_rng(5)
    generated, reference = {"pool": correlated(rng, 60, 8, 0.0, 1.0)}, {"pool": correlated(rng, 50, 8, 0.5, 1.0)}
    settings = {**PRC_DEFAULTS, "feature": "pool"}
    precision = PRECISION.compute(MetricInputs(generated, reference, settings))
    recall = RECALL.compute(MetricInputs(generated, reference, settings))
    expected = original(generated["pool"], reference["pool"], prc_neighborhood=3, prc_batch_size=10000,
                        save_cpu_ram=False, verbose=False)
    assert (precision.value, recall.value) == (expected["precision"], expected["recall"])
    assert len(calls) == 1
    other = {"pool": generated["pool"] + 1.0}  # other features are computed afresh
    PRECISION.compute(MetricInputs(other, reference, settings))
    assert len(calls) == 2


def test_fid_infinity_computes_the_reference_statistics_once(monkeypatch):
    sizes = []
    original = torch_fidelity.metric_fid.fid_features_to_statistics

    def counted(features):
        sizes.append(len(features))
        return original(features)

    monkeypatch.setattr(torch_fidelity.metric_fid, "fid_features_to_statistics", counted)
    rng = np.random.default_rng(8)
    generated, reference = correlated(rng, 400, 8, 0.0, 1.0), correlated(rng, 333, 8, 0.3, 1.0)
    settings = {**FID_INFINITY.defaults, "feature": "pool", "points": 5}
    value = FID_INFINITY.compute(MetricInputs({"pool": generated}, {"pool": reference}, settings))
    assert sizes.count(333) == 1 and len(sizes) == 6  # five generated subsets, one reference set
    assert value.extras["points"][-1]["fd"] == pytest.approx(torch_fidelity_fid(generated, reference), rel=1e-9)


def test_features_changed_in_place_are_not_served_from_the_memo():
    rng = np.random.default_rng(9)
    a, b = correlated(rng, 300, 8, 0.0, 1.0), correlated(rng, 300, 8, 0.0, 1.0)
    settings = {**FID.defaults, "feature": "pool"}
    first = FID.compute(MetricInputs({"pool": a}, {"pool": b}, settings)).value
    b.mul_(2.0)
    second = FID.compute(MetricInputs({"pool": a}, {"pool": b}, settings)).value
    assert second != first
    assert second == pytest.approx(torch_fidelity_fid(a, b), rel=1e-9)


def test_fid_and_kid_run_numpy_and_scipy_blas_on_one_thread():
    from threadpoolctl import threadpool_info

    with one_blas_thread():
        inside = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    assert inside and set(inside) == {1}
