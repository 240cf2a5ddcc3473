"""Metrics added to a protocol from the command line (``genbench score --metrics ... --bootstrap B``).

``fd_dinov2`` and ``cmmd`` bring their own extractors (DINOv2 ViT-L/14, CLIP ViT-L-14-336);
``density``, ``coverage``, ``vendi`` and ``fid_infinity`` are computed in the protocol's own
feature space: the extractor and feature of its first Fréchet distance (else of its first
two-set metric). ``bootstrap`` sets that many rounds on every two-set metric. The result is a
new protocol definition, so it gets its own fingerprint and is never ranked with the original.
"""

from __future__ import annotations

import copy
from typing import Any

from genbench.errors import ProtocolError
from genbench.protocols.protocol import Protocol, parse_protocol
from genbench.registry import Registry

#: Metrics with an extractor of their own: key -> (extractor name, its table, metric kind, feature).
OWN_SPACE = {
    "fd_dinov2": ("dinov2", {"kind": "dinov2", "size": "vitl14"}, "fd", "cls"),
    "cmmd": ("clip_image", {"kind": "clip-image", "model": "ViT-L-14-336", "pretrained": "openai"}, "cmmd", "image"),
}
#: Metrics computed in the protocol's own feature space: key -> metric kind.
PROTOCOL_SPACE = {"density": "density", "coverage": "coverage", "vendi": "vendi", "fid_infinity": "fid_infinity"}
ADDABLE = (*OWN_SPACE, *PROTOCOL_SPACE)


def protocol_feature_space(protocol: Protocol, registry: Registry) -> tuple[str, str]:
    """(extractor, feature) of the protocol's first Fréchet distance, else of its first two-set metric."""
    two_set = [m for m in protocol.metrics if registry.metric(m.metric).needs_reference]
    chosen = next((m for m in two_set if m.metric in ("fid", "fd")), two_set[0] if two_set else None)
    if chosen is None:
        raise ProtocolError(f"protocol '{protocol.name}' has no two-set metric whose features the added "
                            f"metrics could use")
    return chosen.extractor, chosen.feature


def add_metrics(protocol: Protocol, registry: Registry, metrics: tuple[str, ...], bootstrap: int = 0) -> Protocol:
    """``protocol`` with ``metrics`` added (those it has are kept as they are) and ``bootstrap`` rounds set."""
    unknown = [m for m in metrics if m not in ADDABLE]
    if unknown:
        raise ProtocolError(f"--metrics: cannot add '{unknown[0]}' (choose from {', '.join(ADDABLE)})")
    if bootstrap < 0 or bootstrap == 1:
        raise ProtocolError(f"--bootstrap must be 0 (no interval) or at least 2 rounds, got {bootstrap}")
    if not metrics and not bootstrap:
        return protocol
    raw: dict[str, Any] = copy.deepcopy(protocol.raw)
    for key in metrics:
        if key in raw["metrics"]:
            continue
        if key in OWN_SPACE:
            extractor, table, kind, feature = OWN_SPACE[key]
            raw["extractors"].setdefault(extractor, dict(table))
        else:
            (extractor, feature), kind = protocol_feature_space(protocol, registry), PROTOCOL_SPACE[key]
        raw["metrics"][key] = {"metric": kind, "extractor": extractor, "feature": feature}
    if bootstrap:
        for entry in raw["metrics"].values():
            spec = registry.metric(entry["metric"])
            if spec.needs_reference and spec.resamplable:  # k-NN metrics take none (metrics.bootstrap)
                entry["bootstrap"] = bootstrap
    return parse_protocol(raw, source=f"{protocol.source} (with --metrics/--bootstrap)")
