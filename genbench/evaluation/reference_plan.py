"""Where each two-set metric's reference side comes from, decided once before any work: the reference file's
published statistics, or the reference images' features; and so which extractors see the reference images.

A metric whose spec takes ``statistics`` (the Fréchet distances) reads a pair of the reference set's statistics
when one is in its feature space: the same extractor kind and feature, the same settings that change values
(``SPACE_FREE`` settings do not), and, when the file records the weights that made it (genbench's own files), the
same weights. A pair the file does not describe is in the space its name has by convention, unless the protocol's
``[data] statistics = {NAME = "EXTRACTOR/FEATURE"}`` places it in one of its own extractors' spaces. Every other two-set metric reads the reference images' features; a reference of statistics alone
refuses it in one line. Only extractors some metric needs reference features from are run on the reference set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from genbench.datasets.base import ImageDataset
from genbench.errors import MetricError, ProtocolError
from genbench.extractors.base import FeatureExtractor
from genbench.protocols.protocol import MetricEntry, Protocol
from genbench.registry import Registry
from genbench.storage.statistics_files import Space, Statistics

#: Extractor settings that pick outputs, pin a file or record a measured accuracy without changing any feature's values.
SPACE_FREE = ("kind", "features", "sha256", "test_accuracy", "caption_accuracy")


@dataclass(frozen=True)
class ReferencePlan:
    """Per metric key, the statistics it reads; the extractors the reference images go through."""

    statistics: dict[str, Statistics]
    extractors: tuple[str, ...]

    def metric_statistics(self) -> dict[str, dict[str, np.ndarray]]:
        """``{metric key: {"mu", "sigma"}}`` for ``compute_metrics``."""
        return {key: item.as_dict() for key, item in self.statistics.items()}

    def describe(self) -> dict[str, Any]:
        """For the result's reference section: which statistics each metric read and how their space is known."""
        return {key: {"statistics": item.name, "space": item.space.label(), "how_known": item.space.note,
                      "count": item.count} for key, item in self.statistics.items()}


def normalized(registry: Registry, kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    """A kind's value-changing settings with its defaults filled in (None left out)."""
    try:
        defaults = registry.extractor(kind).settings
    except ProtocolError:  # a kind no installed plugin provides: the file's settings as they are
        defaults = {}
    merged = {**defaults, **settings}
    return {key: value for key, value in merged.items() if key not in SPACE_FREE and value is not None}


def metric_space(protocol: Protocol, registry: Registry, entry: MetricEntry) -> Space:
    """The feature space a metric entry reads."""
    table = protocol.extractors[entry.extractor]
    return Space(table["kind"], entry.feature, normalized(registry, table["kind"], table))


def declared_spaces(protocol: Protocol, registry: Registry) -> dict[str, Space]:
    """Array name -> the space the protocol's ``[data] statistics`` places it in."""
    declared = protocol.data.options.get("statistics") or {}
    if not isinstance(declared, dict):
        raise ProtocolError(f"protocol {protocol.source}: field 'data.statistics' must be a table such as "
                            f"{{ mu = \"EXTRACTOR/FEATURE\" }}, got {declared!r}")
    spaces = {}
    for name, target in declared.items():
        extractor, _, feature = str(target).partition("/")
        if extractor not in protocol.extractors or not feature:
            raise ProtocolError(f"protocol {protocol.source}: data.statistics.{name} = {target!r} names no "
                                f"EXTRACTOR/FEATURE of this protocol (extractors: {', '.join(protocol.extractors)})")
        table = protocol.extractors[extractor]
        spaces[name] = Space(table["kind"], feature, normalized(registry, table["kind"], table),
                             note=f"placed by the protocol ([data] statistics.{name} = \"{target}\"); the file "
                                  f"records no network")
    return spaces


def _matches(registry: Registry, other: Space, space: Space) -> bool:
    return ((other.kind, other.feature) == (space.kind, space.feature)
            and normalized(registry, other.kind, other.settings) == space.settings)


def _where(reference: ImageDataset) -> str:
    return reference.info.get("file", "the reference set")


def _statistics_for(registry: Registry, entry: MetricEntry, space: Space, extractor: FeatureExtractor,
                    held: list[Statistics], reference: ImageDataset) -> Statistics | None:
    """The reference's statistics in ``space``, refused when the file records other weights."""
    found = next((item for item in held if _matches(registry, item.space, space)), None)
    if found is not None and found.space.identity is not None and found.space.identity != extractor.identity:
        raise MetricError(f"metric '{entry.key}': {_where(reference)} records {found.name} as made with "
                          f"{space.kind} weights {found.space.identity}, this evaluation's are {extractor.identity}; "
                          f"statistics compare only within one feature space")
    return found


def _refusal(entry: MetricEntry, spec_name: str, space: Space, reference: ImageDataset, statistics: bool) -> str:
    held = ", ".join(f"{s.name}: {s.space.label()}" for s in reference.statistics) or "none"
    what = (f"compares with the reference in {space.label()} and {_where(reference)} has no statistics there "
            f"(it has {held}) and no images (arr_0) to compute them from") if statistics else (
        f"needs the reference images' {entry.extractor}/{entry.feature} features, and {_where(reference)} holds "
        f"statistics only "
        f"({held}), no images (arr_0)")
    return (f"metric '{entry.key}' ({spec_name}) {what}: use a reference with images, or leave the metric out with "
            f"--drop-metrics {entry.key}")


def plan_reference(protocol: Protocol, registry: Registry, extractors: dict[str, FeatureExtractor],
                   reference: ImageDataset) -> ReferencePlan:
    """The plan for ``protocol`` against ``reference`` (see the module doc); a metric that cannot be computed
    from what the reference holds is one ``MetricError`` line, before any work."""
    statistics: dict[str, Statistics] = {}
    needed: list[str] = []
    declared = declared_spaces(protocol, registry)
    held = [Statistics(item.name, item.mu, item.sigma, declared[item.name], item.count)
            if item.name in declared and item.space.identity is None else item for item in reference.statistics]
    for entry in protocol.metrics:
        spec = registry.metric(entry.metric)
        if not spec.needs_reference:
            continue
        space = metric_space(protocol, registry, entry)
        found = _statistics_for(registry, entry, space, extractors[entry.extractor], held, reference) \
            if spec.statistics else None
        if found is not None:
            statistics[entry.key] = found
            continue
        if len(reference) == 0:
            raise MetricError(_refusal(entry, spec.name, space, reference, spec.statistics))
        needed.append(entry.extractor)
    return ReferencePlan(statistics, tuple(dict.fromkeys(needed)))
