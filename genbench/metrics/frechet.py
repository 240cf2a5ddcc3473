"""Fréchet distance in any extractor's space (``fd``) and its extrapolation to infinite samples (``fid_infinity``).

Both call genbench's FID code (torch-fidelity's statistics and distance). ``fd`` is that
distance under a name that does not pretend the features are Inception's (``fd_dinov2`` in a
protocol is ``fd`` on DINOv2 features). ``fid_infinity`` follows Chong & Forsyth (CVPR 2020,
``calculate_FID_infinity``): the distance of ``points`` random subsets of the generated set, of
sizes evenly spaced from ``min_fraction`` of the set to all of it, against the whole reference
set, then a least-squares line in 1/N whose intercept (1/N = 0) is the estimate.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import torch

from genbench.metrics.base import MetricInputs, MetricPlan, MetricSpec, MetricValue
from genbench.metrics.checks import enough_samples, finite_features
from genbench.metrics.fidelity import check_covariance, fid_from_inputs


def subset_sizes(total: int, min_fraction: float, points: int) -> list[int]:
    """``points`` sample counts evenly spaced from ``min_fraction · total`` to ``total`` (as the paper's linspace)."""
    return [int(n) for n in np.linspace(int(min_fraction * total), total, points).astype(np.int64)]


def check_fid_infinity(plan: MetricPlan) -> None:
    """Two points at least, and the smallest subset enough for a covariance."""
    points = int(plan.settings["points"])
    enough_samples("fid_infinity", "points", points, 2, "a line needs two points")
    smallest = subset_sizes(plan.num_generated, float(plan.settings["min_fraction"]), points)[0]
    check_covariance("fid_infinity", dataclasses.replace(plan, num_generated=smallest))


def fid_infinity_from_inputs(inputs: MetricInputs) -> MetricValue:
    """FD of random subsets against the whole reference set (its features or published statistics), extrapolated."""
    settings = inputs.settings
    feature = settings["feature"]
    generated = finite_features("fid_infinity", "generated", inputs.generated[feature])
    reference = (None if inputs.reference is None
                 else {feature: finite_features("fid_infinity", "reference", inputs.reference[feature])})
    check_fid_infinity(MetricPlan.of(inputs))
    sizes = subset_sizes(len(generated), float(settings["min_fraction"]), int(settings["points"]))
    generator = torch.Generator().manual_seed(int(settings["rng_seed"]))
    distances = []
    for size in sizes:
        chosen = torch.randperm(len(generated), generator=generator)[:size]
        subset = MetricInputs({feature: generated[chosen]}, reference, settings,
                              reference_statistics=inputs.reference_statistics)
        distances.append(fid_from_inputs(subset).value)
    slope, intercept = np.polyfit(1.0 / np.asarray(sizes, dtype=np.float64), np.asarray(distances), 1)
    return MetricValue(value=float(intercept), extras={
        "slope": float(slope), "fit": "least squares of FD against 1/N, intercept at 1/N = 0",
        "points": [{"num_samples": n, "fd": d} for n, d in zip(sizes, distances)]})


FD = MetricSpec(
    name="fd",
    value_range=(0.0, None),
    description="Fréchet distance of feature Gaussians in any extractor's space (FID's code), lower is better",
    compute=fid_from_inputs,
    higher_is_better=False,
    needs_reference=True,
    defaults={"allow_singular_covariance": False},
    check=functools.partial(check_covariance, "fd"),
    statistics=True,
)
FID_INFINITY = MetricSpec(
    name="fid_infinity",
    description="FID∞ (Chong & Forsyth): Fréchet distance extrapolated linearly in 1/N to infinitely many samples",
    compute=fid_infinity_from_inputs,
    higher_is_better=False,
    needs_reference=True,
    defaults={"points": 15, "min_fraction": 0.1, "rng_seed": 0, "allow_singular_covariance": False},
    check=check_fid_infinity,
    statistics=True,
)
