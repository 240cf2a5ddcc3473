"""Density and coverage (Naeem et al., ICML 2020) in any extractor's features.

As in the authors' ``prdc`` package: the radius of reference sample i is the distance to its
k-th nearest reference neighbour (itself excluded); density is the mean, over generated samples,
of how many reference balls contain it, divided by k; coverage is the share of reference samples
whose ball contains at least one generated sample. Strict ``<`` comparisons, as there. Distances
are float64 and computed in blocks, so no ``N_ref × N_gen`` matrix is held at once.
"""

from __future__ import annotations

import torch

from genbench.metrics.base import MetricInputs, MetricSpec, MetricValue
from genbench.metrics.checks import enough_samples
from genbench.metrics.fidelity import pair

#: Rows per distance block.
BLOCK = 1024


def knn_radii(features: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each row to its k-th nearest other row (the (k+1)-th smallest, self at 0 included)."""
    return torch.cat([torch.cdist(block, features).topk(k + 1, dim=1, largest=False).values.max(dim=1).values
                      for block in features.split(BLOCK)])


def density_coverage(generated: torch.Tensor, reference: torch.Tensor, k: int) -> tuple[float, float]:
    """(density, coverage) of float64 generated features against reference features."""
    radii = knn_radii(reference, k)
    inside_counts = torch.zeros(len(generated), dtype=torch.float64)
    nearest = torch.full((len(reference),), float("inf"), dtype=torch.float64)
    for start in range(0, len(generated), BLOCK):
        distances = torch.cdist(reference, generated[start:start + BLOCK])  # [N_ref, block]
        inside_counts[start:start + BLOCK] = (distances < radii[:, None]).sum(dim=0).double()
        nearest = torch.minimum(nearest, distances.min(dim=1).values)
    return float(inside_counts.mean() / k), float((nearest < radii).double().mean())


def _checked(metric: str, inputs: MetricInputs) -> tuple[torch.Tensor, torch.Tensor, int]:
    generated, reference = pair(metric, inputs)
    k = int(inputs.settings["nearest_k"])
    enough_samples(metric, "reference", len(reference), k + 1,
                   f"each reference radius is the distance to its {k}-th nearest reference neighbour")
    enough_samples(metric, "generated", len(generated), 1, "a mean needs one sample")
    return generated, reference, k


def density_from_inputs(inputs: MetricInputs) -> MetricValue:
    generated, reference, k = _checked("density", inputs)
    density, coverage = density_coverage(generated, reference, k)
    return MetricValue(value=density, extras={"nearest_k": k, "coverage": coverage})


def coverage_from_inputs(inputs: MetricInputs) -> MetricValue:
    generated, reference, k = _checked("coverage", inputs)
    density, coverage = density_coverage(generated, reference, k)
    return MetricValue(value=coverage, extras={"nearest_k": k, "density": density})


DENSITY = MetricSpec(
    name="density",
    value_range=(0.0, None),
    description="density (Naeem et al.): mean count of reference k-NN balls holding a generated sample, over k; "
                "about 1 when generated matches reference",
    compute=density_from_inputs,
    higher_is_better=True,
    needs_reference=True,
    resamplable=False,
    defaults={"nearest_k": 5},
)
COVERAGE = MetricSpec(
    name="coverage",
    value_range=(0.0, 1.0),
    description="coverage (Naeem et al.): share of reference k-NN balls holding at least one generated sample",
    compute=coverage_from_inputs,
    higher_is_better=True,
    needs_reference=True,
    resamplable=False,
    defaults={"nearest_k": 5},
)
