"""Scoring samples made elsewhere under a protocol: the runner's evaluation without a model.

The samples go through the protocol's extractors in the same fixed chunks as a run, against the
same cached reference features, and the result is written like a run's with the plugin recorded
as ``external``. Samples must have the protocol's image size; grey samples for an RGB protocol
get their channel repeated (recorded in the result); colour samples for a grey protocol are refused.
Unless ``--captions`` is given, image *i* is taken to have the protocol's condition *i* (class
``i mod K`` or caption ``i mod M``), the order ``genbench run`` generates in.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from genbench.errors import DataError
from genbench.extractors.feature_pass import extract_features
from genbench.storage.images import save_grid
from genbench.storage.housekeeping import in_use
from genbench.evaluation.preflight import check_metric_requirements
from genbench.protocols.protocol import Protocol
from genbench.protocols.additions import add_metrics
from genbench.storage.results import ensure_writable, new_run_id, utc_now, write_result
from genbench.trust.hashing import images_sha256
from genbench.runner.runner import GRID_IMAGES, Runner, RunOptions, override_protocol, result_record
from genbench.evaluation.samples import load_captions, load_samples
from genbench.protocols.conditions import Conditions, plan_conditions

EXTERNAL = "external"


@dataclass
class ScoreOptions:
    """Everything ``genbench score`` accepts; ``score_samples`` takes the same names."""

    protocol: str
    samples: Path
    captions: Path | None = None
    device: str | None = None
    results_dir: Path = Path("results")
    cache_dir: Path | None = None
    weights_dir: Path | None = None
    data_dir: Path | None = None
    trust_weights: bool = False
    quiet: bool = False
    threads: int | None = None
    command: list[str] | None = None
    allow_reference_mismatch: bool = False
    #: Metrics added to the protocol (see ``genbench.protocols.additions``) and bootstrap rounds for two-set ones.
    metrics: tuple[str, ...] = ()
    bootstrap: int = 0


def fit_to_protocol(images: torch.Tensor, protocol: Protocol, source: Path) -> tuple[torch.Tensor, str | None]:
    """The samples in the protocol's format, and the conversion applied (None when none was needed)."""
    size, channels = protocol.data.image_size, protocol.data.channels
    height, width = images.shape[2], images.shape[3]
    if (height, width) != (size, size):
        raise DataError(f"samples {source} are {width}x{height}; protocol '{protocol.name}' evaluates "
                        f"{size}x{size} images (resize them the way your model's paper does, then score again)")
    if images.shape[1] == channels:
        return images, None
    if images.shape[1] == 1 and channels == 3:
        return images.expand(-1, 3, -1, -1).contiguous(), "grey samples repeated to 3 channels"
    raise DataError(f"samples {source} have {images.shape[1]} channels; protocol '{protocol.name}' evaluates "
                    f"grey images (convert them to grey first)")


def score_samples(options: ScoreOptions) -> dict[str, Any]:
    """Score ``options.samples`` on ``options.protocol``; returns the written result record."""
    started, clock = utc_now(), time.perf_counter()
    runner = Runner(RunOptions(plugin=EXTERNAL, protocol=options.protocol, device=options.device,
                               results_dir=options.results_dir, quiet=options.quiet, cache_dir=options.cache_dir,
                               weights_dir=options.weights_dir, data_dir=options.data_dir,
                               trust_weights=options.trust_weights, threads=options.threads,
                               command=options.command, allow_reference_mismatch=options.allow_reference_mismatch))
    protocol = add_metrics(runner.registry.protocol(options.protocol), runner.registry, options.metrics,
                           options.bootstrap)
    results_dir = ensure_writable(options.results_dir)
    images, conversion = fit_to_protocol(load_samples(options.samples), protocol, options.samples)
    if conversion:
        runner.log(conversion)
    if len(images) != protocol.sampling.num_samples:
        runner.log(f"{len(images)} samples, protocol '{protocol.name}' names {protocol.sampling.num_samples}: "
                   f"scored as protocol.sampling.num_samples={len(images)} (its own fingerprint)")
        protocol = override_protocol(protocol, {"sampling.num_samples": str(len(images))})
    evaluation = runner.prepare(protocol)
    if options.captions is not None:
        conditions = Conditions(captions=load_captions(options.captions, len(images)))
    else:
        conditions = plan_conditions(protocol, evaluation.reference)
    check_metric_requirements(protocol, runner.registry, evaluation.metric_settings, evaluation.extractors,
                              len(evaluation.reference), conditions)
    runner.log(f"extracting features of {len(images)} samples from {options.samples}")
    generated = extract_features(evaluation.extractors, images, conditions.captions,
                                 protocol.sampling.feature_batch_size)
    metrics, reference_section = runner.evaluate(evaluation, generated, conditions)
    run_id = new_run_id(protocol.name, EXTERNAL)
    artifacts = {"grid": f"{run_id}.grid.png", "samples_dir": None}
    record = result_record(
        evaluation, run_id, reference_section, metrics, started, clock, options.command,
        plugin={"name": EXTERNAL, "model": None, "description": f"samples read from {options.samples}",
                "distribution": None, "version": None, "task": protocol.task.value, "checkpoint": None,
                "checkpoint_sha256": None, "config": None, "settings": {}, "capabilities": []},
        samples={"num_samples": len(images), "source": str(options.samples), "sha256": images_sha256(images),
                 "conversion": conversion, "feature_batch_size": protocol.sampling.feature_batch_size,
                 "conditions": protocol.sampling.conditions,
                 "captions_file": str(options.captions) if options.captions else None},
        speed=None, parameters=None, training=None, artifacts=artifacts,
    )
    with in_use(results_dir):  # while held, no run's clean-up takes this grid for a dead run's
        save_grid(images[:GRID_IMAGES], results_dir / artifacts["grid"])
        path = write_result(results_dir, record)
    runner.log(f"result written to {path}")
    record["path"] = str(path)
    return record
