"""Every setting a protocol gives, checked against what the installed components declare, and each metric's
settings resolved (its defaults, overridden by the protocol)."""

from __future__ import annotations

from typing import Any

from genbench.metrics.bootstrap import metric_setting_names
from genbench.protocols.protocol import Protocol
from genbench.protocols.schema import PROTOCOL_KEYS, check_keys
from genbench.registry import Registry


def check_declared_settings(protocol: Protocol, registry: Registry) -> None:
    """Refuse settings in ``[data]``, ``[extractors.NAME]`` and ``[metrics.NAME]`` that the installed data set,
    extractor kind or metric does not declare (``DECLARED_BY``); third-party components get the same check."""
    dataset = registry.dataset(protocol.data.dataset)
    check_keys(protocol.raw["data"], [*PROTOCOL_KEYS["data"], *dataset.settings], "data", protocol.source,
               f" (dataset '{dataset.name}')")
    for name, settings in protocol.extractors.items():
        kind = registry.extractor(settings["kind"])
        check_keys(settings, [*PROTOCOL_KEYS["extractors.NAME"], *kind.settings], f"extractors.{name}",
                   protocol.source, f" (extractor kind '{kind.name}')")
    for entry in protocol.metrics:
        metric = registry.metric(entry.metric)
        check_keys(protocol.raw["metrics"][entry.key], [*PROTOCOL_KEYS["metrics.NAME"], *metric_setting_names(metric)],
                   f"metrics.{entry.key}", protocol.source, f" (metric '{metric.name}')")


def metric_settings(protocol: Protocol, registry: Registry) -> dict[str, dict[str, Any]]:
    """Each metric's settings (defaults overridden by the protocol), after refusing every setting of the
    protocol's data set, extractors and metrics that they do not declare."""
    check_declared_settings(protocol, registry)
    resolved = {}
    for entry in protocol.metrics:
        spec = registry.metric(entry.metric)
        resolved[entry.key] = {**spec.defaults, **entry.settings, "feature": entry.feature}
    return resolved
