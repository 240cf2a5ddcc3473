"""KID with its subsets computed several at a time equals torch-fidelity's kid_features_to_metric bit for bit."""

from __future__ import annotations

import pytest
import torch
from threadpoolctl import threadpool_limits
from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric

from genbench.metrics.base import MetricInputs
from genbench.metrics.fidelity import KID
from genbench.metrics.kid_subsets import kid_mean_std


def features(seed: int, n: int, dim: int, shift: float) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=generator, dtype=torch.float64) + shift


def torch_fidelity_kid(a, b, subsets, size, degree, coef0, seed):
    out = kid_features_to_metric(a, b, kid_subsets=subsets, kid_subset_size=size, kid_kernel="poly",
                                 kid_kernel_poly_degree=degree, kid_kernel_poly_gamma=None,
                                 kid_kernel_poly_coef0=coef0, rng_seed=seed, verbose=False)
    return out[KEY_METRIC_KID_MEAN], out[KEY_METRIC_KID_STD]


@pytest.mark.parametrize("workers", [1, 2, 5])
@pytest.mark.parametrize("subsets, size, degree, coef0, seed", [(10, 40, 3, 1.0, 0), (7, 61, 2, 0.5, 2020)])
def test_every_thread_count_gives_torch_fidelitys_kid_exactly(workers, subsets, size, degree, coef0, seed):
    a, b = features(1, 90, 48, 0.0), features(2, 70, 48, 0.3)
    with threadpool_limits(1):  # the library's own loop, on the one BLAS thread genbench's subsets use
        expected = torch_fidelity_kid(a, b, subsets, size, degree, coef0, seed)
    assert kid_mean_std(a, b, subsets, size, degree, coef0, seed, workers) == expected


def test_the_kid_metric_is_the_threaded_subsets_and_does_not_depend_on_torch_threads():
    a, b = features(3, 120, 32, 0.0), features(4, 100, 32, 0.2)
    settings = {**KID.defaults, "feature": "pool", "subset_size": 50, "subsets": 20}
    threads = torch.get_num_threads()
    try:
        values = []
        for count in (1, 3):
            torch.set_num_threads(count)
            value = KID.compute(MetricInputs({"pool": a}, {"pool": b}, settings))
            values.append((value.value, value.std))
    finally:
        torch.set_num_threads(threads)
    assert values[0] == values[1]
    with threadpool_limits(1):
        assert values[0] == torch_fidelity_kid(a, b, 20, 50, settings["degree"], settings["coef0"],
                                               settings["rng_seed"])
