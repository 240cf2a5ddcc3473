"""Guards that turn a meaningless number into a clear error before a metric is computed."""

from __future__ import annotations

import torch

from genbench.errors import MetricError


def finite_features(metric: str, name: str, features: torch.Tensor) -> torch.Tensor:
    """The features as float64; NaN or Inf rows are an error naming the metric and the count."""
    features = features.double()
    bad = (~torch.isfinite(features)).any(dim=1).sum().item()
    if bad:
        raise MetricError(f"{metric}: {bad} of {len(features)} {name} feature rows contain NaN or Inf")
    return features


def enough_samples(metric: str, name: str, count: int, needed: int, why: str) -> None:
    """Fail when ``count`` < ``needed``, saying which set and why that many are required."""
    if count < needed:
        raise MetricError(f"{metric}: {name} set has {count} samples, needs at least {needed} ({why})")
