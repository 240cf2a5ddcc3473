"""Checks before the expensive part: can every metric of a protocol be computed from what the run will make?

A run asks each metric's ``MetricSpec.check`` with a ``MetricPlan`` (the protocol's sample count
after ``--set`` overrides, the reference set's size and labels, the width of the metric's feature
rows, the caption groups and the class of every image to be made), so "FID needs 2049 samples" is
said before anything trains or samples (for ``genbench score``: before any feature is extracted).
The feature widths come from each extractor's answer on two blank images of the protocol's format.
A metric that reads the reference's published statistics (``genbench.evaluation.reference_plan``)
has no reference count to check; its statistics must have the width of its feature instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import torch

from genbench.errors import GenbenchError, MetricError
from genbench.extractors.base import FeatureExtractor
from genbench.metrics.base import MetricPlan
from genbench.metrics.bootstrap import check_bootstrap
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
                              extractors: dict[str, FeatureExtractor], num_reference: int, conditions: Conditions,
                              statistics: dict[str, Statistics] | None = None, num_generated: int | None = None,
                              halves: tuple[torch.Tensor, torch.Tensor] | None = None,
                              reference_labels: torch.Tensor | None = None,
                              num_classes: int | None = None) -> None:
    """Every metric's ``check`` against the planned run, and the width of the published statistics a metric reads
    (``statistics``, by metric key); the first failure is a ``MetricError`` naming the metric.

    ``num_generated`` defaults to the protocol's sample count; ``halves`` is the reference row's case, where the
    two-set metrics compare the images at the first index set (with their labels) with those at the second.
    """
    statistics = statistics or {}
    specs = {entry.key: registry.metric(entry.metric) for entry in protocol.metrics}
    for entry in protocol.metrics:
        try:
            check_bootstrap(specs[entry.key], settings_by_metric[entry.key])
        except MetricError as exc:
            raise MetricError(f"protocol '{protocol.name}', metric '{entry.key}': {exc} (checked before any work)") \
                from None
    if not statistics and not any(spec.check for spec in specs.values()):
        return
    widths = feature_widths(protocol, extractors)
    groups = torch.tensor(caption_groups(conditions.captions)) if conditions.captions is not None else None
    labels = torch.tensor(conditions.labels, dtype=torch.long) if conditions.labels is not None else None
    for entry in protocol.metrics:
        spec, published = specs[entry.key], statistics.get(entry.key)
        width = widths.get((entry.extractor, entry.feature), 0)
        generated = num_generated or protocol.sampling.num_samples
        reference = num_reference if spec.needs_reference and published is None else None
        asked, compared = labels, reference_labels if spec.needs_reference and published is None else None
        if spec.needs_reference and halves is not None:
            first, second = halves
            generated, reference = len(first), len(second)
            asked = labels[first] if labels is not None else None
            compared = reference_labels[second] if reference_labels is not None else None
        plan = MetricPlan(generated, reference, width, settings_by_metric[entry.key], groups, asked, num_classes,
                          compared)
        try:
            if published is not None:
                _check_statistics_width(entry.key, entry.feature, width, published)
            if spec.check is not None:
                spec.check(plan)
        except MetricError as exc:
            raise MetricError(f"protocol '{protocol.name}', metric '{entry.key}': {exc} "
                              f"(checked before any work)") from None


def plan_bytes(num_samples: int, widths: dict[tuple[str, str], int]) -> int:
    """What a run of ``num_samples`` keeps per image until its result is written: every feature row in float64 and
    the image's 64-bit digest (in the work directory's shards on disk, then gathered in memory on the main rank)."""
    return num_samples * (sum(widths.values()) + 1) * 8


def machine_memory() -> int | None:
    """Physical memory in bytes, where the system says (None elsewhere)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_plan_size(protocol: Protocol, extractors: dict[str, FeatureExtractor], work_root: Path,
                    allow_large: bool) -> None:
    """Refuse, before any work, a plan whose features would not fit the free disk under ``work_root`` or half the
    machine's memory (a mistyped sample count would otherwise fill the disk); ``allow_large`` insists."""
    if allow_large:
        return
    need = plan_bytes(protocol.sampling.num_samples, feature_widths(protocol, extractors))
    free = shutil.disk_usage(next(p for p in (work_root, *work_root.parents) if p.exists())).free
    memory = machine_memory()
    problem = (f"{_size(need)} for its shards under {work_root} and {_size(free)} are free" if need > free else
               f"{_size(need)} of memory to hold its features and the machine has {_size(memory)}"
               if memory is not None and need > memory // 2 else None)
    if problem:
        raise GenbenchError(f"protocol '{protocol.name}' with {protocol.sampling.num_samples:,} samples needs about "
                            f"{problem}; shrink protocol.sampling.num_samples, or pass --allow-large-plan to run it "
                            f"anyway")


def _size(count: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:,.0f} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1000
    return f"{count:,.1f} TB"
