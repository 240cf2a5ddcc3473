"""The reference row: the protocol's metrics for the real reference images themselves (seed 004's "real" row).

Metrics that compare two sets (FID, KID) compare two halves of the reference set, split by a
seeded permutation; metrics of one set (IS, CLIP score, diversity) use all of it. The reference
features come from the same cache a run uses. The record has the run's schema with plugin
``real-images`` and the protocol's fingerprint, so it sits beside the models it is the yardstick of.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from genbench import __version__
from genbench.reference_cache import reference_features
from genbench.housekeeping import in_use
from genbench.results import ensure_writable, new_run_id, utc_now, write_result
from genbench.runner import Runner, RunOptions, result_record
from genbench.sampling import Conditions

PLUGIN = "real-images"


def split_halves(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two disjoint, sorted index sets of ``count // 2`` images each, from a seeded permutation."""
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
    seed = protocol.sampling.seed if options.seed is None else options.seed
    evaluation = runner.prepare(protocol)
    split = protocol.data.reference_split
    reference = runner.load_data(protocol, split)
    features, hits = reference_features(reference, runner.data_identity(protocol, split), evaluation.extractors,
                                        protocol.extractors, protocol.sampling.feature_batch_size,
                                        evaluation.context.cache_dir)
    first, second = split_halves(len(reference), seed)

    def subset(index: torch.Tensor) -> tuple[dict[str, torch.Tensor], Conditions]:
        captions = [reference.captions[i] for i in index] if reference.captions is not None else None
        return {k: v[index] for k, v in features.items()}, Conditions(captions=captions)

    def metrics_of(generated: torch.Tensor, compared: torch.Tensor) -> dict[str, Any]:
        rows, conditions = subset(generated)
        return runner.compute_metrics(protocol, registry, evaluation.metric_settings, rows, subset(compared)[0],
                                      conditions, reference.num_classes)

    two_sets, one_set = metrics_of(first, second), metrics_of(torch.arange(len(reference)), second)
    metrics = {entry.key: (two_sets if registry.metric(entry.metric).needs_reference else one_set)[entry.key]
               for entry in protocol.metrics}
    run_id = new_run_id(protocol.name, PLUGIN)
    record = result_record(
        evaluation, run_id, {"split": split, "num_images": len(reference), "cache_hits": hits,
                             "data_info": reference.info}, metrics, started, clock, options.command,
        plugin={"name": PLUGIN, "model": None, "description": "the protocol's real reference images",
                "distribution": "genbench", "version": __version__, "task": protocol.task.value,
                "checkpoint": None, "checkpoint_sha256": None, "config": None, "settings": {}, "capabilities": []},
        samples={"num_samples": len(reference), "seed": seed, "halves": [len(first), len(second)],
                 "two_set_metrics": "first half vs second half of a seeded permutation",
                 "one_set_metrics": "all reference images with their own captions"},
        speed=None, parameters=None, training=None, artifacts={"grid": None, "samples_dir": None, "gallery": []},
    )
    with in_use(results_dir):  # while held, no run's clean-up takes the temp file for a dead run's
        path = write_result(results_dir, record)
    runner.log(f"reference row written to {path}")
    record["path"] = str(path)
    return record
