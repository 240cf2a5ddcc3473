"""Where each metric of a protocol is computed: its spec's function (``genbench.metrics``) on one extractor's
features, with the protocol's settings, the run's class labels (and the reference rows' classes) or caption groups,
and its bootstrap."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from genbench.errors import MetricError
from genbench.extractors.feature_pass import select
from genbench.metrics.base import MetricInputs
from genbench.metrics.bootstrap import compute_metric
from genbench.protocols.conditions import Conditions, caption_groups
from genbench.protocols.protocol import Protocol
from genbench.registry import Registry


def compute_metrics(protocol: Protocol, registry: Registry, settings_by_metric: dict[str, dict[str, Any]],
                    generated: dict[str, torch.Tensor], reference: dict[str, torch.Tensor], conditions: Conditions,
                    num_classes: int | None, reference_labels: torch.Tensor | None = None,
                    statistics: dict[str, dict[str, np.ndarray]] | None = None) -> dict[str, Any]:
    """The result's ``metrics`` section: every metric of ``protocol`` from features keyed ``extractor/feature``;
    a metric keyed in ``statistics`` reads those published ``{"mu", "sigma"}`` instead of reference features."""
    statistics = statistics or {}
    labels = torch.tensor(conditions.labels, dtype=torch.long) if conditions.labels is not None else None
    groups = torch.tensor(caption_groups(conditions.captions)) if conditions.captions is not None else None
    out = {}
    for entry in protocol.metrics:
        spec = registry.metric(entry.metric)
        settings = settings_by_metric[entry.key]
        published = statistics.get(entry.key)
        inputs = MetricInputs(select(generated, entry.extractor),
                              select(reference, entry.extractor) if spec.needs_reference and published is None
                              else None, settings, labels, num_classes, groups, reference_statistics=published,
                              reference_labels=reference_labels if spec.needs_reference else None)
        try:
            value = compute_metric(spec, inputs)
        except MetricError as exc:
            raise MetricError(f"metric '{entry.key}': {exc}") from None
        problem = spec.value_problem(value.value)
        if value.std is not None and not math.isfinite(value.std):
            problem = f"has a spread of {value.std!r}, not a finite number"
        if problem:  # never recorded: a NaN or impossible value is a broken model, extractor or metric
            raise MetricError(f"metric '{entry.key}' {problem}; nothing was recorded")
        out[entry.key] = {"metric": spec.name, "extractor": entry.extractor, "feature": entry.feature,
                          "settings": settings, "value": value.value, "std": value.std,
                          "higher_is_better": spec.higher_is_better, "extras": value.extras,
                          "interval": value.interval}
    return out
