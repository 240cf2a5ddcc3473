"""CMMD (Jayasumana et al., CVPR 2024): 1000 × MMD² with a Gaussian RBF kernel (σ = 10) on CLIP embeddings.

``estimator = "reference"`` (the default) is google-research/cmmd's ``distance.mmd``: the
biased, minimum-variance estimator of Gretton et al. (2012, Eq. 5), i.e. the means of the full
kernel matrices, *diagonal terms included*. ``estimator = "unbiased"`` is the paper's formula
(Eq. 3): the within-set means leave out the diagonal ``k(x_i, x_i) = 1``. Kernel sums run in
float64 over blocks of rows, so 30 000 embeddings never need a 30 000² matrix in memory.
"""

from __future__ import annotations

import torch

from genbench.errors import MetricError
from genbench.metrics.base import MetricInputs, MetricSpec, MetricValue
from genbench.metrics.checks import enough_samples
from genbench.metrics.fidelity import pair

ESTIMATORS = ("reference", "unbiased")
#: Rows of the first set per kernel block (a block is ``BLOCK × len(other set)`` float64 values).
BLOCK = 1024


def rbf_kernel_sum(x: torch.Tensor, y: torch.Tensor, sigma: float) -> float:
    """Σ_ij exp(-‖x_i - y_j‖² / (2σ²)), with ‖x‖² + ‖y‖² - 2x·y as the reference expands it."""
    gamma = 1.0 / (2.0 * sigma ** 2)
    y_sqnorms = (y * y).sum(dim=1)
    total = 0.0
    for block in x.split(BLOCK):
        distances = (block * block).sum(dim=1)[:, None] + y_sqnorms[None, :] - 2.0 * block @ y.T
        total += float(torch.exp(-gamma * distances).sum())
    return total


def mmd_squared(x: torch.Tensor, y: torch.Tensor, sigma: float, estimator: str) -> float:
    """MMD² of two float64 sets under the Gaussian RBF kernel; see the module docstring for the estimators."""
    m, n = len(x), len(y)
    k_xx, k_yy, k_xy = rbf_kernel_sum(x, x, sigma), rbf_kernel_sum(y, y, sigma), rbf_kernel_sum(x, y, sigma)
    if estimator == "reference":
        return k_xx / m ** 2 + k_yy / n ** 2 - 2.0 * k_xy / (m * n)
    # k(x, x) = 1 exactly for the RBF kernel: the diagonal sums are m and n.
    return (k_xx - m) / (m * (m - 1)) + (k_yy - n) / (n * (n - 1)) - 2.0 * k_xy / (m * n)


def cmmd_from_inputs(inputs: MetricInputs) -> MetricValue:
    generated, reference = pair("cmmd", inputs)
    settings = inputs.settings
    estimator = settings["estimator"]
    if estimator not in ESTIMATORS:
        raise MetricError(f"cmmd: unknown estimator '{estimator}' (known: {', '.join(ESTIMATORS)})")
    enough_samples("cmmd", "generated", len(generated), 2, "the within-set kernel mean needs two samples")
    enough_samples("cmmd", "reference", len(reference), 2, "the within-set kernel mean needs two samples")
    value = settings["scale"] * mmd_squared(reference, generated, float(settings["sigma"]), estimator)
    described = ("biased (minimum-variance) MMD², diagonal terms included, as google-research/cmmd"
                 if estimator == "reference" else "unbiased MMD², diagonal terms left out (the paper's Eq. 3)")
    return MetricValue(value=value, extras={"estimator": described, "kernel": f"Gaussian RBF, sigma={settings['sigma']}",
                                            "scale": settings["scale"]})


CMMD = MetricSpec(
    name="cmmd",
    description="CMMD: 1000 × MMD² with a Gaussian RBF kernel (σ=10) on CLIP image embeddings, lower is better",
    compute=cmmd_from_inputs,
    higher_is_better=False,
    needs_reference=True,
    defaults={"sigma": 10.0, "scale": 1000.0, "estimator": "reference"},
)
