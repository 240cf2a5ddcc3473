"""The reference row: the protocol's metrics for the real reference images themselves (seed 004's "real" row).

Metrics that compare two sets (FID, KID) compare two halves of the reference set, split by a
seeded permutation (intra-class FD: each class's images in one half against those in the other);
metrics of one set (IS, CLIP score, diversity, class accuracy, each image with its own caption or
class) use all of it. The reference features come from the same cache a run uses. The record has
the run's schema with plugin ``real-images`` and the protocol's fingerprint, so it sits beside the
models it is the yardstick of.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

import torch

from genbench import __version__
from genbench.datasets.base import ImageDataset
from genbench.errors import DataError, status_line
from genbench.evaluation.compute import compute_metrics
from genbench.evaluation.data import checked_reference_identity, load_reference
from genbench.evaluation.device import use_threads
from genbench.evaluation.options import ReferenceOptions
from genbench.evaluation.preflight import check_metric_requirements
from genbench.evaluation.record import images_without_a_model
from genbench.evaluation.session import open_evaluation, protocol_for
from genbench.evaluation.statistics_export import collect_statistics, export_statistics, statistics_entries
from genbench.protocols.conditions import Conditions
from genbench.protocols.protocol import Protocol
from genbench.registry import get_registry
from genbench.storage.files import atomic_write_text
from genbench.storage.housekeeping import in_use
from genbench.storage.results import ensure_writable, new_run_id, utc_now, write_result
from genbench.trust.seeds import check_run_seed, derived_seed

PLUGIN = "real-images"


def split_halves(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two disjoint, sorted index sets of ``count // 2`` images each, from a seeded permutation."""
    order = torch.randperm(count, generator=torch.Generator().manual_seed(derived_seed(seed, "reference-halves")))
    half = count // 2
    return order[:half].sort().values, order[half:2 * half].sort().values


def reference_set(options: ReferenceOptions) -> tuple[Protocol, ImageDataset, dict[str, Any]]:
    """The protocol, its reference set and the set's identity (checked against the pin), without extractors."""
    use_threads(options.threads)
    registry = get_registry()
    protocol = protocol_for(options, registry)
    reference = load_reference(protocol, options.data_dir, options.reference_file, registry,
                               options.allow_reference_mismatch)
    return protocol, reference, checked_reference_identity(protocol, reference, options.allow_reference_mismatch)


def print_identity(options: ReferenceOptions) -> str:
    """The reference set's identity as lines: the SHA-256 a protocol pins, then each part it is made of."""
    protocol, reference, identity = reference_set(options)
    lines = [f"protocol {protocol.name}: {protocol.data.dataset}/{protocol.data.reference_split}, "
             f"{len(reference)} images",
             f"reference_sha256 = \"{identity['sha256']}\"   # pin it under [data]",
             f"pinned: {protocol.data.reference_sha256 or 'nothing'}"]
    lines += [f"  {key}: {json.dumps(value)}" for key, value in identity["parts"].items()]
    return "\n".join(lines)


def export_selection(options: ReferenceOptions, path: Path) -> int:
    """Write the reference set's selected records (one row per image, tab-separated, with a header); returns the count."""
    protocol, reference, _ = reference_set(options)
    if not reference.selection:
        raise DataError(f"protocol '{protocol.name}': data set '{protocol.data.dataset}' selects no records to "
                        f"export (only caption selections, such as COCO's, can be exported)")
    columns = list(reference.selection[0])
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, delimiter="\t", lineterminator="\n")
    writer.writeheader()
    writer.writerows(reference.selection)
    atomic_write_text(Path(path), buffer.getvalue())
    return len(reference.selection)


def export_reference_statistics(options: ReferenceOptions) -> str:
    """Write the protocol's reference statistics to ``options.export_stats`` (``genbench.evaluation.
    statistics_export``); returns the summary line."""
    use_threads(options.threads)
    log, registry = status_line(options.quiet), get_registry()
    protocol = protocol_for(options, registry)
    evaluation = open_evaluation(protocol, options, registry, log)
    published = evaluation.plan.statistics
    needed = {entry.extractor for entry in statistics_entries(protocol, registry).values() if entry.key not in published}
    features, _ = evaluation.reference_features({name: evaluation.extractors[name] for name in sorted(needed)})
    statistics = collect_statistics(protocol, registry, evaluation.extractors, features, published)
    return export_statistics(options.export_stats, statistics, {
        "protocol": protocol.name, "fingerprint": evaluation.fingerprint, "side": "reference",
        "reference_sha256": evaluation.reference_identity["sha256"], "num_images": len(evaluation.reference)})


def reference_row(options: ReferenceOptions) -> dict[str, Any]:
    """Compute and write the reference row of ``options.protocol``; returns the record."""
    started, clock = utc_now(), time.perf_counter()
    use_threads(options.threads)
    log, registry = status_line(options.quiet), get_registry()
    protocol = protocol_for(options, registry)
    results_dir = ensure_writable(options.results_dir)
    seed = check_run_seed(protocol.sampling.seed if options.seed is None else options.seed)
    evaluation = open_evaluation(protocol, options, registry, log)
    reference = evaluation.reference
    if len(reference) < 4:
        raise DataError(f"protocol '{protocol.name}': the reference row compares two halves of the reference images, "
                        f"and the reference has {len(reference)} ({reference.info.get('file', 'its data set')}"
                        f"{' holds statistics only' if reference.statistics else ''})")
    first, second = split_halves(len(reference), seed)
    class_conditional = protocol.sampling.conditions == "classes"
    check_metric_requirements(protocol, registry, evaluation.metric_settings, evaluation.extractors, len(reference),
                              Conditions(labels=reference.labels.tolist() if class_conditional else None,
                                         captions=reference.captions),
                              num_generated=len(reference), halves=(first, second),
                              reference_labels=reference.labels, num_classes=reference.num_classes)
    features, hits = evaluation.reference_features(evaluation.extractors)  # every metric reads features here

    def subset(index: torch.Tensor) -> tuple[dict[str, torch.Tensor], Conditions]:
        captions = [reference.captions[i] for i in index] if reference.captions is not None else None
        labels = reference.labels[index].tolist() if class_conditional else None
        return {k: v[index] for k, v in features.items()}, Conditions(labels=labels, captions=captions)

    def metrics_of(generated: torch.Tensor, compared: torch.Tensor) -> dict[str, Any]:
        rows, conditions = subset(generated)
        return compute_metrics(protocol, registry, evaluation.metric_settings, rows, subset(compared)[0],
                               conditions, reference.num_classes,
                               reference.labels[compared] if reference.labels is not None else None)

    two_sets, one_set = metrics_of(first, second), metrics_of(torch.arange(len(reference)), second)
    metrics = {entry.key: (two_sets if registry.metric(entry.metric).needs_reference else one_set)[entry.key]
               for entry in protocol.metrics}
    run_id = new_run_id(protocol.name, PLUGIN)
    record = evaluation.record(
        run_id, evaluation.reference_section(hits), metrics, started, clock, options.command,
        plugin=images_without_a_model(PLUGIN, "the protocol's real reference images", protocol.task.value,
                                      "genbench", __version__),
        samples={"num_samples": len(reference), "seed": seed, "halves": [len(first), len(second)],
                 "two_set_metrics": "first half vs second half of a seeded permutation",
                 "one_set_metrics": "all reference images with their own captions or classes"},
        artifacts={"grid": None, "samples_dir": None, "gallery": []},
    )
    with in_use(results_dir):  # while held, no run's clean-up takes the temp file for a dead run's
        path = write_result(results_dir, record)
    log(f"reference row written to {path}")
    record["path"] = str(path)
    return record
