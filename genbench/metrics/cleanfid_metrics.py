"""FID and KID as clean-fid computes them (its ``fid_from_feats`` and ``kernel_distance``), from features.

Used with the ``cleanfid`` extractor so that a protocol's number equals clean-fid's own
``compute_fid`` / ``compute_kid`` on the same images. clean-fid draws KID subsets from NumPy's
global random state; genbench seeds it with ``rng_seed`` for the call and restores it after,
so the number is reproducible. clean-fid reports KID without a spread.
"""

from __future__ import annotations

import sys
from contextlib import redirect_stdout

import numpy as np

from genbench.metrics.base import MetricInputs, MetricPlan, MetricSpec, MetricValue
from genbench.metrics.fidelity import check_covariance, check_kid_subsets, pair


def check_clean_fid(plan: MetricPlan) -> None:
    check_covariance("clean_fid", plan)


def check_clean_kid(plan: MetricPlan) -> None:
    check_kid_subsets("clean_kid", plan)


def clean_fid_from_inputs(inputs: MetricInputs) -> MetricValue:
    """clean-fid's Fréchet distance (mean and ``np.cov`` of each set, scipy ``sqrtm``)."""
    from cleanfid.fid import fid_from_feats

    generated, reference = pair("clean_fid", inputs)
    check_clean_fid(MetricPlan.of(inputs))
    with redirect_stdout(sys.stderr):  # clean-fid prints its singular-product notice
        value = fid_from_feats(generated.numpy(), reference.numpy())
    return MetricValue(value=float(value))


def clean_kid_from_inputs(inputs: MetricInputs) -> MetricValue:
    """clean-fid's KID: unbiased cubic-kernel MMD² averaged over ``subsets`` random subsets."""
    from cleanfid.fid import kernel_distance

    generated, reference = pair("clean_kid", inputs)
    settings = inputs.settings
    size = settings["subset_size"]
    check_clean_kid(MetricPlan.of(inputs))
    saved = np.random.get_state()
    np.random.seed(settings["rng_seed"])
    try:
        value = kernel_distance(generated.numpy(), reference.numpy(), num_subsets=settings["subsets"],
                                max_subset_size=size)
    finally:
        np.random.set_state(saved)
    return MetricValue(value=float(value))


CLEAN_FID = MetricSpec(
    name="clean_fid",
    value_range=(0.0, None),
    description="Fréchet distance as clean-fid computes it (use with the cleanfid extractor), lower is better",
    compute=clean_fid_from_inputs,
    check=check_clean_fid,
    higher_is_better=False,
    needs_reference=True,
    defaults={"allow_singular_covariance": False},
)
CLEAN_KID = MetricSpec(
    name="clean_kid",
    description="KID as clean-fid computes it (use with the cleanfid extractor), lower is better",
    compute=clean_kid_from_inputs,
    check=check_clean_kid,
    higher_is_better=False,
    needs_reference=True,
    defaults={"subset_size": 1000, "subsets": 100, "rng_seed": 0},
)
