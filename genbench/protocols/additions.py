"""Metrics a user may add to a protocol (``genbench score --metrics ... --bootstrap B``) or ask of two folders
(``genbench compare``): one table, ``ADDABLE``, says what each is computed by and in which features; and the
metrics a user may leave out (``--drop-metrics``: those a reference of statistics alone cannot give).

``fd_dinov2`` and ``cmmd`` bring their own extractors (DINOv2 ViT-L/14, CLIP ViT-L-14-336);
``density``, ``coverage``, ``vendi`` and ``fid_infinity`` are computed in the protocol's own
feature space: the extractor and feature of its first Fréchet distance (else of its first
two-set metric). ``bootstrap`` sets that many rounds on every two-set metric. The result is a
new protocol definition, so it gets its own fingerprint and is never ranked with the original.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable

from genbench.errors import ProtocolError
from genbench.metrics.base import MetricSpec
from genbench.protocols.protocol import Protocol, parse_protocol


@dataclass(frozen=True)
class Addition:
    """An addable metric: its kind, and the extractor (name and table) and feature it reads; no extractor means
    the space it is added to (the protocol's own, or the Inception pool features ``compare`` uses)."""

    metric: str
    extractor: str | None = None
    table: dict[str, Any] = field(default_factory=dict)
    feature: str | None = None


ADDABLE: dict[str, Addition] = {
    "fd_dinov2": Addition("fd", "dinov2", {"kind": "dinov2", "size": "vitl14"}, "cls"),
    "cmmd": Addition("cmmd", "clip_image", {"kind": "clip-image", "model": "ViT-L-14-336", "pretrained": "openai"},
                     "image"),
    "density": Addition("density"),
    "coverage": Addition("coverage"),
    "vendi": Addition("vendi"),
    "fid_infinity": Addition("fid_infinity"),
}


def check_bootstrap(rounds: int) -> None:
    """0 (no interval) or at least 2 rounds; anything else is one line."""
    if rounds < 0 or rounds == 1:
        raise ProtocolError(f"--bootstrap must be 0 (no interval) or at least 2 rounds, got {rounds}")


def protocol_feature_space(protocol: Protocol, metric: Callable[[str], MetricSpec]) -> tuple[str, str]:
    """(extractor, feature) of the protocol's first Fréchet distance, else of its first two-set metric."""
    two_set = [m for m in protocol.metrics if metric(m.metric).needs_reference]
    chosen = next((m for m in two_set if m.metric in ("fid", "fd")), two_set[0] if two_set else None)
    if chosen is None:
        raise ProtocolError(f"protocol '{protocol.name}' has no two-set metric whose features the added "
                            f"metrics could use")
    return chosen.extractor, chosen.feature


def drop_metrics(protocol: Protocol, keys: tuple[str, ...]) -> Protocol:
    """``protocol`` without the metrics ``keys`` names, and without the extractors no remaining metric reads (a new
    definition: its own fingerprint)."""
    if not keys:
        return protocol
    have = [entry.key for entry in protocol.metrics]
    unknown = [key for key in keys if key not in have]
    if unknown:
        raise ProtocolError(f"--drop-metrics: protocol '{protocol.name}' has no metric '{unknown[0]}' "
                            f"(it has: {', '.join(have)})")
    raw: dict[str, Any] = copy.deepcopy(protocol.raw)
    raw["metrics"] = {key: table for key, table in raw["metrics"].items() if key not in keys}
    if not raw["metrics"]:
        raise ProtocolError(f"--drop-metrics: nothing of protocol '{protocol.name}' would be left to compute")
    used = {table.get("extractor") for table in raw["metrics"].values()}
    raw["extractors"] = {name: table for name, table in raw["extractors"].items() if name in used}
    return parse_protocol(raw, source=f"{protocol.source} (with --drop-metrics)")


def add_metrics(protocol: Protocol, metric: Callable[[str], MetricSpec], metrics: tuple[str, ...],
                bootstrap: int = 0) -> Protocol:
    """``protocol`` with ``metrics`` added (those it has are kept as they are) and ``bootstrap`` rounds set;
    ``metric`` looks a metric kind up (``Registry.metric``)."""
    unknown = [m for m in metrics if m not in ADDABLE]
    if unknown:
        raise ProtocolError(f"--metrics: cannot add '{unknown[0]}' (choose from {', '.join(ADDABLE)})")
    check_bootstrap(bootstrap)
    if not metrics and not bootstrap:
        return protocol
    raw: dict[str, Any] = copy.deepcopy(protocol.raw)
    for key in metrics:
        if key in raw["metrics"]:
            continue
        addition = ADDABLE[key]
        if addition.extractor is not None:
            extractor, feature = addition.extractor, addition.feature
            raw["extractors"].setdefault(extractor, dict(addition.table))
        else:
            extractor, feature = protocol_feature_space(protocol, metric)
        raw["metrics"][key] = {"metric": addition.metric, "extractor": extractor, "feature": feature}
    if bootstrap:
        for entry in raw["metrics"].values():
            spec = metric(entry["metric"])
            if spec.needs_reference and spec.resamplable:  # k-NN metrics take none (metrics.bootstrap)
                entry["bootstrap"] = bootstrap
    return parse_protocol(raw, source=f"{protocol.source} (with --metrics/--bootstrap)")
