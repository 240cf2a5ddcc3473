"""The reference row: the protocol's metrics for the real reference images themselves (seed 004's "real" row).

Metrics that compare two sets (FID, KID) compare two halves of the reference set, split by a
seeded permutation; metrics of one set (IS, CLIP score, diversity) use all of it. The reference
features come from the same cache a run uses. The record has the run's schema with plugin
``real-images`` and the protocol's fingerprint, so it sits beside the models it is the yardstick of.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from genbench import __version__
from genbench.provenance import environment
from genbench.reference_cache import default_cache_dir, reference_features
from genbench.results import RESULT_SCHEMA_VERSION, ensure_writable, new_run_id, utc_now, write_result
from genbench.runner import ExtractorContext, Runner, RunOptions, build_extractors, metric_settings, resolve_device
from genbench.sampling import Conditions

PLUGIN = "real-images"


def split_halves(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two disjoint index sets of ``count // 2`` images each, from a seeded permutation."""
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed))
    half = count // 2
    return order[:half].sort().values, order[half:2 * half].sort().values


def reference_row(options: RunOptions) -> dict[str, Any]:
    """Compute and write the reference row of ``options.protocol``; returns the record."""
    started, clock = utc_now(), time.perf_counter()
    runner = Runner(options)
    registry = runner.registry
    protocol = registry.protocol(options.protocol)
    results_dir = ensure_writable(options.results_dir)
    device = resolve_device(options.device)
    seed = protocol.sampling.seed if options.seed is None else options.seed
    context = ExtractorContext(device, options.weights_dir, options.trust_weights,
                               Path(options.cache_dir or default_cache_dir()), options.data_dir, registry)
    extractors = build_extractors(protocol, registry, context)
    fingerprint = protocol.fingerprint({n: e.weights_sha256 for n, e in extractors.items()})
    split = protocol.data.reference_split
    reference = runner.load_data(protocol, split)
    features, hits = reference_features(reference, runner.data_identity(protocol, split), extractors,
                                        protocol.extractors, protocol.sampling.feature_batch_size, context.cache_dir)
    first, second = split_halves(len(reference), seed)
    settings = metric_settings(protocol, registry)
    captions = reference.captions

    def subset(index: torch.Tensor) -> tuple[dict[str, torch.Tensor], Conditions]:
        rows = {k: v[index] for k, v in features.items()}
        return rows, Conditions(captions=[captions[i] for i in index] if captions is not None else None)

    halves, half_conditions = subset(first)
    whole, whole_conditions = subset(torch.arange(len(reference)))
    two_sets = runner.compute_metrics(protocol, registry, settings, halves, subset(second)[0], half_conditions,
                                      reference.num_classes)
    one_set = runner.compute_metrics(protocol, registry, settings, whole, whole, whole_conditions,
                                     reference.num_classes)
    metrics = {entry.key: (two_sets if registry.metric(entry.metric).needs_reference else one_set)[entry.key]
               for entry in protocol.metrics}
    run_id = new_run_id(protocol.name, PLUGIN)
    record = {
        "schema_version": RESULT_SCHEMA_VERSION,
        "run_id": run_id,
        "status": "measured",
        "protocol": {"name": protocol.name, "version": protocol.version, "fingerprint": fingerprint,
                     "task": protocol.task.value, "description": protocol.description,
                     "source": protocol.source, "definition": protocol.definition()},
        "plugin": {"name": PLUGIN, "model": None, "description": "the protocol's real reference images",
                   "distribution": "genbench", "version": __version__, "task": protocol.task.value, "checkpoint": None,
                   "checkpoint_sha256": None, "config": None,
                   "settings": {}, "capabilities": []},
        "samples": {"num_samples": len(reference), "seed": seed, "halves": [len(first), len(second)],
                    "two_set_metrics": "first half vs second half of a seeded permutation",
                    "one_set_metrics": "all reference images with their own captions"},
        "extractors": {n: {"kind": protocol.extractors[n]["kind"], **e.describe()} for n, e in extractors.items()},
        "reference": {"split": split, "num_images": len(reference), "cache_hits": hits,
                      "data_info": reference.info},
        "metrics": metrics,
        "speed": None,
        "parameters": None,
        "training": None,
        "artifacts": {"grid": None, "samples_dir": None, "gallery": []},
        "environment": environment(device),
        "command": options.command,
        "started_at": started,
        "finished_at": utc_now(),
        "duration_seconds": time.perf_counter() - clock,
    }
    path = write_result(results_dir, record)
    runner.log(f"reference row written to {path}")
    record["path"] = str(path)
    return record

