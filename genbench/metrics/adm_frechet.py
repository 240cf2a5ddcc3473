"""FID and sFID as the ADM evaluator computes them: genbench's FID plus the evaluator's epsilon fallback.

openai/guided-diffusion's ``FIDStatistics.frechet_distance`` (``evaluations/evaluator.py``) is the TTUR
formula |μ₁ − μ₂|² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁Σ₂)^½ with statistics ``np.mean`` and ``np.cov`` (genbench takes
them from torch-fidelity's ``fid_features_to_statistics``, the same two calls, in float64). Where both
covariances are positive definite the product has positive eigenvalues, ``scipy.linalg.sqrtm`` is finite and
the trace equals genbench's exact Cholesky route (``frechet_distance.trace_sqrt_product``). Otherwise genbench
follows the evaluator step by step: ``sqrtm(Σ₁Σ₂)``; if it is not finite, ``sqrtm((Σ₁ + εI)(Σ₂ + εI))``
(the traces of Σ₁ and Σ₂ keep no ε); an imaginary diagonal above 1e-3 is an error, a smaller one is dropped.
sFID is the same distance on the ``spatial`` feature (``genbench.extractors.inception_spatial``).
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import scipy.linalg

from genbench.errors import MetricError
from genbench.metrics.base import MetricInputs, MetricSpec, MetricValue
from genbench.metrics.blas import one_blas_thread
from genbench.metrics.fidelity import check_covariance, gaussians
from genbench.metrics.frechet_distance import trace_sqrt_product

#: The evaluator's ``frechet_distance(other, eps=1e-6)``.
EVALUATOR_EPS = 1e-6
#: The evaluator's tolerance on the imaginary part of the square root's diagonal (``np.allclose(..., atol=1e-3)``).
IMAGINARY_ATOL = 1e-3


def evaluator_trace_sqrt(metric: str, sigma1: np.ndarray, sigma2: np.ndarray, eps: float) -> tuple[float, bool]:
    """tr (Σ₁Σ₂)^½ and whether the evaluator's ε fallback was taken (its ``sqrtm`` of Σ₁Σ₂ was not finite)."""
    exact = trace_sqrt_product(sigma1, sigma2)
    if exact is not None:
        return exact, False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)  # "singular": what the fallback is for
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
        fallback = not np.isfinite(covmean).all()
        if fallback:
            offset = np.eye(len(sigma1)) * eps
            covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if not np.isfinite(covmean).all():
        raise MetricError(f"{metric}: the square root of the covariance product is not finite, "
                          f"even with {eps} added to the diagonals")
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=IMAGINARY_ATOL):
            raise MetricError(f"{metric}: the square root of the covariance product has an imaginary component "
                              f"{np.max(np.abs(covmean.imag)):.3g} (the evaluator raises here too)")
        covmean = covmean.real
    return float(np.trace(covmean)), fallback


def evaluator_frechet_distance(metric: str, stat_1: dict[str, np.ndarray], stat_2: dict[str, np.ndarray],
                               eps: float = EVALUATOR_EPS) -> tuple[float, bool]:
    """The evaluator's FID between two float64 ``{"mu", "sigma"}`` statistics, and whether its ε fallback ran."""
    mu1, sigma1, mu2, sigma2 = stat_1["mu"], stat_1["sigma"], stat_2["mu"], stat_2["sigma"]
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise MetricError(f"{metric}: statistics of different dimensions ({mu1.shape[0]} and {mu2.shape[0]})")
    trace_sqrt, fallback = evaluator_trace_sqrt(metric, sigma1, sigma2, eps)
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt), fallback


def adm_frechet_from_inputs(metric: str, inputs: MetricInputs) -> MetricValue:
    """The evaluator's Fréchet distance between Gaussian fits of generated and reference features (or the
    reference's published statistics, as the evaluator reads a batch's ``mu``/``sigma`` when it has them)."""
    with one_blas_thread():
        value, fallback = evaluator_frechet_distance(metric, *gaussians(metric, inputs), inputs.settings["eps"])
    return MetricValue(value=max(value, 0.0), extras={"epsilon_fallback": fallback})  # below 0 is round-off


ADM_FRECHET_DEFAULTS = {"eps": EVALUATOR_EPS, "allow_singular_covariance": False}
ADM_FID = MetricSpec(
    name="adm_fid",
    value_range=(0.0, None),
    description="FID as the ADM evaluator (guided-diffusion) computes it: genbench's FID, with the evaluator's "
                "ε fallback where the covariance product's square root is not finite",
    compute=functools.partial(adm_frechet_from_inputs, "adm_fid"),
    check=functools.partial(check_covariance, "adm_fid"),
    higher_is_better=False,
    needs_reference=True,
    defaults=ADM_FRECHET_DEFAULTS,
    statistics=True,
)
SFID = MetricSpec(
    name="sfid",
    value_range=(0.0, None),
    description="sFID (Nash et al. 2021) as the ADM evaluator computes it: its FID on the inception extractor's "
                "'spatial' feature (mixed_6/conv, 7 channels, 17x17, HWC)",
    compute=functools.partial(adm_frechet_from_inputs, "sfid"),
    check=functools.partial(check_covariance, "sfid"),
    higher_is_better=False,
    needs_reference=True,
    defaults=ADM_FRECHET_DEFAULTS,
    statistics=True,
)
