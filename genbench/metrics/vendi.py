"""The Vendi score (Friedman & Dieng, 2023): the effective number of distinct samples.

``exp(-Σ λ log λ)`` over the eigenvalues λ of ``K / n``, where ``K`` is the cosine-similarity
kernel of the n feature rows (rows L2-normalised, ``K = X Xᵀ``), as ``vendi_score.score_X`` and
dgm-eval compute it. The non-zero eigenvalues of ``X Xᵀ / n`` are those of ``Xᵀ X / n``, so the
smaller of the two matrices is decomposed. Text-to-image runs score each caption's images
separately (mean ± std over captions with two or more images); others score the whole set.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from genbench.errors import MetricError
from genbench.metrics.base import MetricInputs, MetricSpec, MetricValue
from genbench.metrics.checks import enough_samples, finite_features


def vendi_score(features: torch.Tensor) -> float:
    """Vendi score (order q = 1) of float64 feature rows under the cosine-similarity kernel."""
    x = F.normalize(features.double(), dim=1)
    n = len(x)
    gram = x @ x.T if n <= x.shape[1] else x.T @ x
    eigenvalues = torch.linalg.eigvalsh(gram / n)
    positive = eigenvalues[eigenvalues > 0]
    return float(torch.exp(-(positive * positive.log()).sum()))


def vendi_from_inputs(inputs: MetricInputs) -> MetricValue:
    features = finite_features("vendi", "generated", inputs.generated[inputs.settings["feature"]])
    enough_samples("vendi", "generated", len(features), 2, "diversity needs two samples")
    whole = vendi_score(features)
    if inputs.groups is None or not inputs.settings["per_caption"]:
        return MetricValue(value=whole, extras={"kernel": "cosine similarity", "scope": "whole set",
                                                "samples": len(features)})
    ids = inputs.groups.numpy()
    per_caption = [vendi_score(features[torch.from_numpy(ids == g)]) for g in np.unique(ids) if (ids == g).sum() >= 2]
    if not per_caption:
        raise MetricError(f"vendi: no caption has two or more of the {len(features)} images; set "
                          f"sampling.samples_per_caption >= 2 or the metric's per_caption = false")
    values = torch.tensor(per_caption, dtype=torch.float64)
    return MetricValue(value=float(values.mean()), std=float(values.std(unbiased=False)),
                       extras={"kernel": "cosine similarity", "scope": "per caption, mean ± std over captions",
                               "captions": len(per_caption), "whole_set": whole})


VENDI = MetricSpec(
    name="vendi",
    value_range=(0.0, None),
    description="Vendi score: effective number of distinct samples under a cosine-similarity kernel, "
                "per caption for text-to-image",
    compute=vendi_from_inputs,
    higher_is_better=True,
    defaults={"per_caption": True},
)
