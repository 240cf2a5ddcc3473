"""CMMD, density/coverage, Vendi, FD, FID∞ and bootstrap intervals against direct NumPy transcriptions."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import sklearn.metrics
import torch

from genbench.errors import MetricError
from genbench.metrics import cmmd, manifold
from genbench.metrics.base import MetricInputs
from genbench.metrics.bootstrap import BOOTSTRAP_DEFAULTS, bootstrap_interval, compute_metric
from genbench.metrics.cmmd import CMMD
from genbench.metrics.fidelity import FID
from genbench.metrics.frechet import FD, FID_INFINITY, subset_sizes
from genbench.metrics.manifold import COVERAGE, DENSITY
from genbench.metrics.vendi import VENDI, vendi_score


def features(seed: int, n: int, d: int, shift: float = 0.0, scale: float = 1.0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).normal(shift, scale, size=(n, d)))


def inputs(generated, reference=None, groups=None, **settings) -> MetricInputs:
    return MetricInputs({"f": generated}, None if reference is None else {"f": reference},
                        {**settings, "feature": "f"}, groups=groups)


def numpy_cmmd_reference(x: np.ndarray, y: np.ndarray, sigma=10.0, scale=1000.0) -> float:
    """google-research/cmmd ``distance.mmd``, line by line in NumPy (means over full matrices)."""
    x_sq, y_sq = np.diag(x @ x.T), np.diag(y @ y.T)
    gamma = 1 / (2 * sigma ** 2)
    k_xx = np.mean(np.exp(-gamma * (-2 * x @ x.T + x_sq[:, None] + x_sq[None, :])))
    k_xy = np.mean(np.exp(-gamma * (-2 * x @ y.T + x_sq[:, None] + y_sq[None, :])))
    k_yy = np.mean(np.exp(-gamma * (-2 * y @ y.T + y_sq[:, None] + y_sq[None, :])))
    return scale * (k_xx + k_yy - 2 * k_xy)


def numpy_mmd_unbiased(x: np.ndarray, y: np.ndarray, sigma=10.0) -> float:
    """The paper's Eq. 3: within-set sums over i != j."""
    def k(a, b):
        return np.exp(-((a[:, None, :] - b[None, :, :]) ** 2).sum(-1) / (2 * sigma ** 2))
    m, n = len(x), len(y)
    kxx, kyy = k(x, x), k(y, y)
    return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
            - 2 * k(x, y).mean())


def test_cmmd_equals_the_reference_implementation_with_diagonal_terms(monkeypatch):
    generated, reference = features(0, 70, 16, shift=0.3, scale=3.0), features(1, 50, 16, scale=3.0)
    expected = numpy_cmmd_reference(reference.numpy(), generated.numpy())
    value = CMMD.compute(inputs(generated, reference, **CMMD.defaults)).value
    assert value == pytest.approx(expected, rel=1e-10)
    monkeypatch.setattr(cmmd, "BLOCK", 7)  # blocks of rows never change the number
    assert CMMD.compute(inputs(generated, reference, **CMMD.defaults)).value == pytest.approx(expected, rel=1e-10)


def test_cmmd_unbiased_estimator_is_the_papers_formula():
    generated, reference = features(2, 40, 8, shift=0.5, scale=4.0), features(3, 30, 8, scale=4.0)
    value = CMMD.compute(inputs(generated, reference, **{**CMMD.defaults, "estimator": "unbiased"})).value
    assert value == pytest.approx(1000 * numpy_mmd_unbiased(reference.numpy(), generated.numpy()), rel=1e-9)
    biased = CMMD.compute(inputs(generated, reference, **CMMD.defaults)).value
    assert abs(value - biased) > 1e-3 * abs(biased)  # the diagonal terms matter at this size


def test_cmmd_refuses_an_unknown_estimator():
    with pytest.raises(MetricError, match="cmmd: unknown estimator 'v-stat' \\(known: reference, unbiased\\)"):
        CMMD.compute(inputs(features(0, 5, 2), features(1, 5, 2), **{**CMMD.defaults, "estimator": "v-stat"}))


def numpy_prdc_density_coverage(real: np.ndarray, fake: np.ndarray, k: int) -> tuple[float, float]:
    """The prdc package's density and coverage, in NumPy and scikit-learn."""
    real_d = sklearn.metrics.pairwise_distances(real, real)
    radii = np.take_along_axis(real_d, np.argpartition(real_d, k + 1, axis=-1)[..., :k + 1], axis=-1).max(-1)
    real_fake = sklearn.metrics.pairwise_distances(real, fake)
    density = (1.0 / k) * (real_fake < radii[:, None]).sum(axis=0).mean()
    coverage = (real_fake.min(axis=1) < radii).mean()
    return density, coverage


def test_density_and_coverage_equal_the_prdc_formulas(monkeypatch):
    real, fake = features(4, 120, 6), features(5, 90, 6, shift=0.4, scale=0.8)
    density, coverage = numpy_prdc_density_coverage(real.numpy(), fake.numpy(), 5)
    monkeypatch.setattr(manifold, "BLOCK", 17)
    d = DENSITY.compute(inputs(fake, real, **DENSITY.defaults))
    c = COVERAGE.compute(inputs(fake, real, **COVERAGE.defaults))
    assert d.value == pytest.approx(density, abs=1e-12) and c.value == pytest.approx(coverage, abs=1e-12)
    assert 0 < c.value < 1 and d.extras["coverage"] == c.value
    assert DENSITY.defaults["nearest_k"] == 5


def test_density_needs_more_reference_samples_than_k():
    with pytest.raises(MetricError, match="density: reference set has 5 samples, needs at least 6"):
        DENSITY.compute(inputs(features(0, 10, 3), features(1, 5, 3), nearest_k=5))


def numpy_vendi(x: np.ndarray) -> float:
    """dgm-eval's ``compute_vendi_score`` (linear kernel on L2-normalised rows, q = 1)."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    w = scipy.linalg.eigvalsh(x @ x.T / len(x))
    w = w[w > 0]
    return float(np.exp(-(w * np.log(w)).sum()))


@pytest.mark.parametrize("n, d", [(30, 50), (200, 12)])
def test_vendi_equals_the_eigenvalue_formula(n, d):
    x = features(6, n, d)
    assert vendi_score(x) == pytest.approx(numpy_vendi(x.numpy()), rel=1e-8)


def test_vendi_counts_distinct_samples():
    base = features(7, 4, 32)
    assert vendi_score(base.repeat(10, 1)) == pytest.approx(numpy_vendi(base.numpy()), rel=1e-8)
    assert vendi_score(torch.eye(6, dtype=torch.float64)) == pytest.approx(6.0)


def test_vendi_per_caption_is_the_mean_over_captions():
    x = features(8, 12, 10)
    groups = torch.tensor([0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3])  # caption 3 has one image: left out
    value = VENDI.compute(inputs(x, groups=groups, **VENDI.defaults))
    expected = [numpy_vendi(x.numpy()[groups.numpy() == g]) for g in range(3)]
    assert value.value == pytest.approx(np.mean(expected)) and value.std == pytest.approx(np.std(expected))
    assert value.extras["captions"] == 3 and value.extras["whole_set"] == pytest.approx(numpy_vendi(x.numpy()))
    whole = VENDI.compute(inputs(x, groups=groups, per_caption=False))
    assert whole.value == pytest.approx(numpy_vendi(x.numpy()))


def test_fd_is_fid_in_any_feature_space():
    generated, reference = features(9, 100, 8, shift=0.2), features(10, 80, 8)
    assert FD.compute(inputs(generated, reference, **FD.defaults)).value == \
        FID.compute(inputs(generated, reference, **FID.defaults)).value


def test_fid_infinity_removes_the_small_sample_bias():
    """Same distribution: FD at N is biased upwards by ~tr(Σ)/N terms; the extrapolation is near the true 0."""
    generated, reference = features(11, 2000, 8), features(12, 20000, 8)
    finite = FD.compute(inputs(generated, reference, **FD.defaults)).value
    result = FID_INFINITY.compute(inputs(generated, reference, **FID_INFINITY.defaults))
    assert abs(result.value) < finite / 4
    assert [p["num_samples"] for p in result.extras["points"]] == subset_sizes(2000, 0.1, 15)
    assert subset_sizes(50000, 0.1, 15)[:2] == [5000, 8214]  # the paper's np.linspace(5000, 50000, 15)
    assert result.extras["slope"] > 0


def test_fid_infinity_refuses_subsets_smaller_than_the_dimension():
    with pytest.raises(MetricError, match="fid_infinity: generated set has 5 samples, needs at least 9"):
        FID_INFINITY.compute(inputs(features(0, 50, 8), features(1, 100, 8), **FID_INFINITY.defaults))


def test_bootstrap_interval_replays_as_numpy_percentiles():
    generated, reference = features(13, 60, 4, shift=1.0, scale=3.0), features(14, 50, 4, scale=3.0)
    settings = {**CMMD.defaults, **BOOTSTRAP_DEFAULTS, "bootstrap": 25, "bootstrap_seed": 3}
    value = compute_metric(CMMD, inputs(generated, reference, **settings))
    generator = torch.Generator().manual_seed(3)
    rounds = []
    for _ in range(25):
        g, r = torch.randint(60, (60,), generator=generator), torch.randint(50, (50,), generator=generator)
        rounds.append(numpy_cmmd_reference(reference.numpy()[r], generated.numpy()[g]))
    point = numpy_cmmd_reference(reference.numpy(), generated.numpy())
    low, high = np.percentile(rounds, [2.5, 97.5]) - np.mean(rounds) + point  # the spread, centred on the value
    assert value.interval["bias"] == pytest.approx(np.mean(rounds) - point, rel=1e-9)
    assert value.interval["low"] == pytest.approx(low, rel=1e-9)
    assert value.interval["high"] == pytest.approx(high, rel=1e-9)
    assert value.interval["level"] == 0.95 and value.interval["rounds"] == 25
    assert value.value == pytest.approx(numpy_cmmd_reference(reference.numpy(), generated.numpy()), rel=1e-10)


def test_bootstrap_interval_is_seeded_and_narrows_with_more_samples():
    def interval(n, seed):
        settings = {**FD.defaults, **BOOTSTRAP_DEFAULTS, "bootstrap": 30, "bootstrap_seed": seed}
        pair = inputs(features(15, n, 3, shift=0.5), features(16, n, 3), **settings)
        return bootstrap_interval(FD, pair, FD.compute(pair).value)

    assert interval(100, 0) == interval(100, 0)
    assert interval(100, 0) != interval(100, 1)
    small, large = interval(100, 0), interval(2000, 0)
    assert large["high"] - large["low"] < (small["high"] - small["low"]) / 2


def test_no_bootstrap_means_no_interval_and_one_round_is_an_error():
    generated, reference = features(0, 20, 2), features(1, 20, 2)
    assert compute_metric(FD, inputs(generated, reference, **FD.defaults)).interval is None
    with pytest.raises(MetricError, match=r"^bootstrap must be 0 \(no interval\) or at least 2 rounds, got 1$"):
        compute_metric(FD, inputs(generated, reference, **{**FD.defaults, **BOOTSTRAP_DEFAULTS, "bootstrap": 1}))


def test_the_interval_of_an_upward_biased_distance_still_holds_its_value():
    """Resampled rows repeat, so a Fréchet distance of a small sample rises in every round; the interval is the
    rounds' spread centred on the value (a plain percentile interval missed the digits DDPM's FD entirely)."""
    settings = {**FD.defaults, **BOOTSTRAP_DEFAULTS, "bootstrap": 40, "bootstrap_seed": 0}
    value = compute_metric(FD, inputs(features(21, 40, 8, shift=0.2), features(22, 40, 8), **settings))
    assert value.interval["bias"] > 0  # the rounds sit above the full-sample value
    assert value.interval["low"] <= value.value <= value.interval["high"]
