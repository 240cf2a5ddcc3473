"""Checks before the expensive part: can every metric of a protocol be computed from what the run will make?

A run asks each metric's ``MetricSpec.check`` with a ``MetricPlan`` (the protocol's sample count
after ``--set`` overrides, the reference set's size and labels, the width of the metric's feature
rows, the caption groups and the class of every image to be made), so "FID needs 2049 samples" is
said before anything trains or samples (for ``genbench score``: before any feature is extracted).
The feature widths come from each extractor's answer on two blank images of the protocol's format.
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


def feature_widths(protocol: Protocol, extractors: dict[str, FeatureExtractor]) -> dict[tuple[str, str], int]:
    """``(extractor, feature) -> row width``, from each extractor's features of two blank images."""
    data = protocol.data
    blank = torch.zeros(2, data.channels, data.image_size, data.image_size, dtype=torch.uint8)
    captions = ["", ""] if protocol.sampling.conditions == "captions" else None
    return {(name, feature): int(rows.shape[1])
            for name, extractor in extractors.items()
            for feature, rows in extractor.extract(blank, captions).items()}


def check_metric_requirements(protocol: Protocol, registry: Registry, settings_by_metric: dict[str, dict[str, Any]],
                              extractors: dict[str, FeatureExtractor], num_reference: int,
                              conditions: Conditions, reference_labels: torch.Tensor | None = None,
                              num_classes: int | None = None) -> None:
    """Every metric's ``check`` against the planned run; the first failure is a ``MetricError`` naming the metric."""
    specs = {entry.key: registry.metric(entry.metric) for entry in protocol.metrics}
    if not any(spec.check for spec in specs.values()):
        return
    widths = feature_widths(protocol, extractors)
    groups = torch.tensor(caption_groups(conditions.captions)) if conditions.captions is not None else None
    labels = torch.tensor(conditions.labels, dtype=torch.long) if conditions.labels is not None else None
    for entry in protocol.metrics:
        spec = specs[entry.key]
        if spec.check is None:
            continue
        plan = MetricPlan(protocol.sampling.num_samples, num_reference if spec.needs_reference else None,
                          widths.get((entry.extractor, entry.feature), 0), settings_by_metric[entry.key], groups,
                          labels, num_classes, reference_labels if spec.needs_reference else None)
        try:
            spec.check(plan)
        except MetricError as exc:
            raise MetricError(f"protocol '{protocol.name}', metric '{entry.key}': {exc} "
                              f"(checked before any work)") from None
