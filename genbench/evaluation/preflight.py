"""Checks before the expensive part: can every metric of a protocol be computed from what the run will make?

A run asks each metric's ``MetricSpec.check`` with a ``MetricPlan`` (the protocol's sample count
after ``--set`` overrides, the reference set's size, the width of the metric's feature rows and
the caption groups), so "FID needs 2049 samples" is said before anything trains or samples (for
``genbench score``: before any feature is extracted). The feature widths come from each
extractor's answer on two blank images of the protocol's format. A metric that reads the reference's
published statistics (``genbench.evaluation.reference_plan``) has no reference count to check; its
statistics must have the width of its feature instead.
"""

from __future__ import annotations

from typing import Any

import torch

from genbench.errors import MetricError
from genbench.extractors.base import FeatureExtractor
from genbench.metrics.base import MetricPlan
from genbench.protocols.conditions import Conditions, caption_groups
from genbench.protocols.protocol import Protocol
from genbench.registry import Registry
from genbench.storage.statistics_files import Statistics


def feature_widths(protocol: Protocol, extractors: dict[str, FeatureExtractor]) -> dict[tuple[str, str], int]:
    """``(extractor, feature) -> row width``, from each extractor's features of two blank images."""
    data = protocol.data
    blank = torch.zeros(2, data.channels, data.image_size, data.image_size, dtype=torch.uint8)
    captions = ["", ""] if protocol.sampling.conditions == "captions" else None
    return {(name, feature): int(rows.shape[1])
            for name, extractor in extractors.items()
            for feature, rows in extractor.extract(blank, captions).items()}


def _check_statistics_width(entry_key: str, feature: str, width: int, statistics: Statistics) -> None:
    if statistics.mu.shape != (width,):
        raise MetricError(f"the reference statistics {statistics.name} ({statistics.space.label()}) have "
                          f"{statistics.mu.shape[0]} values, feature '{feature}' has {width}: statistics of "
                          f"another feature space")


def check_metric_requirements(protocol: Protocol, registry: Registry, settings_by_metric: dict[str, dict[str, Any]],
                              extractors: dict[str, FeatureExtractor], num_reference: int,
                              conditions: Conditions, statistics: dict[str, Statistics] | None = None) -> None:
    """Every metric's ``check`` against the planned run, and the width of the published statistics a metric reads
    (``statistics``, by metric key); the first failure is a ``MetricError`` naming the metric."""
    statistics = statistics or {}
    specs = {entry.key: registry.metric(entry.metric) for entry in protocol.metrics}
    if not statistics and not any(spec.check for spec in specs.values()):
        return
    widths = feature_widths(protocol, extractors)
    groups = torch.tensor(caption_groups(conditions.captions)) if conditions.captions is not None else None
    for entry in protocol.metrics:
        spec, published = specs[entry.key], statistics.get(entry.key)
        width = widths.get((entry.extractor, entry.feature), 0)
        reference = num_reference if spec.needs_reference and published is None else None
        plan = MetricPlan(protocol.sampling.num_samples, reference, width, settings_by_metric[entry.key], groups)
        try:
            if published is not None:
                _check_statistics_width(entry.key, entry.feature, width, published)
            if spec.check is not None:
                spec.check(plan)
        except MetricError as exc:
            raise MetricError(f"protocol '{protocol.name}', metric '{entry.key}': {exc} "
                              f"(checked before any work)") from None
