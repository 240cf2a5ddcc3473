"""Where each metric of a protocol is computed: its spec's function (``genbench.metrics``) on one extractor's
features, with the protocol's settings, the run's class labels (and the reference rows' classes) or caption groups,
and its bootstrap."""

from __future__ import annotations

from typing import Any

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
                    num_classes: int | None, reference_labels: torch.Tensor | None = None) -> dict[str, Any]:
    """The result's ``metrics`` section: every metric of ``protocol`` from features keyed ``extractor/feature``."""
    labels = torch.tensor(conditions.labels, dtype=torch.long) if conditions.labels is not None else None
    groups = torch.tensor(caption_groups(conditions.captions)) if conditions.captions is not None else None
    out = {}
    for entry in protocol.metrics:
        spec = registry.metric(entry.metric)
        settings = settings_by_metric[entry.key]
        inputs = MetricInputs(select(generated, entry.extractor),
                              select(reference, entry.extractor) if spec.needs_reference else None,
                              settings, labels, num_classes, groups,
                              reference_labels if spec.needs_reference else None)
        try:
            value = compute_metric(spec, inputs)
        except MetricError as exc:
            raise MetricError(f"metric '{entry.key}': {exc}") from None
        out[entry.key] = {"metric": spec.name, "extractor": entry.extractor, "feature": entry.feature,
                          "settings": settings, "value": value.value, "std": value.std,
                          "higher_is_better": spec.higher_is_better, "extras": value.extras,
                          "interval": value.interval}
    return out
