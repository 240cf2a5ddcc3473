"""Per-caption diversity: mean pairwise cosine distance of the images generated from one caption.

Mode collapse (every sample of a caption alike, as seed 004 saw with GALIP) gives 0. Images are
grouped by their caption; each group with two or more images gives the mean of scipy's pairwise
cosine distances; the metric is the mean ± std over groups.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.distance import pdist

from genbench.errors import MetricError
from genbench.metrics.base import MetricInputs, MetricPlan, MetricSpec, MetricValue
from genbench.metrics.checks import finite_features


def group_diversities(features: torch.Tensor, groups: torch.Tensor) -> dict[int, float]:
    """Mean pairwise cosine distance within each group of two or more rows."""
    array = features.double().numpy()
    ids = groups.numpy()
    return {int(g): float(pdist(array[ids == g], metric="cosine").mean())
            for g in np.unique(ids) if (ids == g).sum() >= 2}


def check_diversity(plan: MetricPlan) -> None:
    """Images grouped by caption, and at least one caption with two or more images."""
    if plan.groups is None:
        raise MetricError("caption_diversity: the images are not grouped by caption (text-to-image protocols only)")
    if len(plan.groups) == 0 or int(torch.bincount(plan.groups).max()) < 2:
        raise MetricError(f"caption_diversity: no caption has two or more of the {plan.num_generated} images; "
                          f"set sampling.samples_per_caption >= 2")


def diversity_from_inputs(inputs: MetricInputs) -> MetricValue:
    features = finite_features("caption_diversity", "generated", inputs.generated[inputs.settings["feature"]])
    check_diversity(MetricPlan.of(inputs))
    per_group = group_diversities(features, inputs.groups)
    values = torch.tensor(list(per_group.values()), dtype=torch.float64)
    sizes = torch.bincount(inputs.groups)
    return MetricValue(
        value=float(values.mean()),
        std=float(values.std(unbiased=False)),
        extras={"distance": "cosine (1 - cos)", "captions": len(per_group),
                "images_per_caption_min": int(sizes[list(per_group)].min()),
                "least_diverse_caption_value": float(values.min()),
                "share_collapsed": float((values < inputs.settings["collapse_below"]).double().mean()),
                "collapse_below": inputs.settings["collapse_below"]},
    )


CAPTION_DIVERSITY = MetricSpec(
    name="caption_diversity",
    value_range=(0.0, 2.0),
    description="mean pairwise CLIP-image cosine distance among samples of one caption; 0 means collapse",
    compute=diversity_from_inputs,
    check=check_diversity,
    higher_is_better=True,
    defaults={"collapse_below": 0.01},
)
