"""Scoring samples made elsewhere under a protocol: an evaluation without a model.

The samples go through the protocol's extractors in the same fixed chunks as a run, against the
same cached reference features, and the result is written like a run's with the plugin recorded
as ``external``. Samples must have the protocol's image size; grey samples for an RGB protocol
get their channel repeated (recorded in the result); colour samples for a grey protocol are refused.
Unless ``--captions`` is given, image *i* is taken to have the protocol's condition *i* (class
``i mod K`` or caption ``i mod M``), the order ``genbench run`` generates in.
"""

from __future__ import annotations

import time
from typing import Any

from genbench.errors import status_line
from genbench.evaluation.options import ScoreOptions
from genbench.evaluation.preflight import check_metric_requirements
from genbench.evaluation.record import images_without_a_model
from genbench.evaluation.samples import fit_to_protocol, load_captions, load_samples
from genbench.evaluation.session import open_evaluation, protocol_for
from genbench.evaluation.statistics_export import collect_statistics, export_statistics, statistics_entries
from genbench.extractors.feature_pass import extract_features
from genbench.protocols.additions import add_metrics
from genbench.protocols.conditions import Conditions, plan_conditions
from genbench.protocols.overrides import override_protocol
from genbench.registry import get_registry
from genbench.storage.housekeeping import in_use
from genbench.storage.images import save_grid
from genbench.storage.results import ensure_writable, new_run_id, utc_now, write_result
from genbench.trust.hashing import images_sha256

EXTERNAL = "external"
#: Images of the result's sample grid.
GRID_IMAGES = 64


def score_samples(options: ScoreOptions) -> dict[str, Any]:
    """Score ``options.samples`` on ``options.protocol``; returns the written result record."""
    started, clock = utc_now(), time.perf_counter()
    log, registry = status_line(options.quiet), get_registry()
    protocol = add_metrics(protocol_for(options, registry), registry.metric, options.metrics, options.bootstrap)
    if options.export_stats is not None:
        statistics_entries(protocol, registry)  # a protocol without a Fréchet distance is refused before any work
    results_dir = ensure_writable(options.results_dir)
    images, conversion = fit_to_protocol(load_samples(options.samples), protocol, options.samples)
    if conversion:
        log(conversion)
    if len(images) != protocol.sampling.num_samples:
        log(f"{len(images)} samples, protocol '{protocol.name}' names {protocol.sampling.num_samples}: "
            f"scored as protocol.sampling.num_samples={len(images)} (its own fingerprint)")
        protocol = override_protocol(protocol, {"sampling.num_samples": str(len(images))})
    evaluation = open_evaluation(protocol, options, registry, log)
    if options.captions is not None:
        conditions = Conditions(captions=load_captions(options.captions, len(images)))
    else:
        conditions = plan_conditions(protocol, evaluation.reference)
    check_metric_requirements(protocol, registry, evaluation.metric_settings, evaluation.extractors,
                              len(evaluation.reference), conditions, evaluation.plan.statistics)
    log(f"extracting features of {len(images)} samples from {options.samples}")
    generated = extract_features(evaluation.extractors, images, conditions.captions,
                                 protocol.sampling.feature_batch_size)
    metrics, reference_section = evaluation.score(generated, conditions)
    if options.export_stats is not None:
        log(export_statistics(options.export_stats, collect_statistics(protocol, registry, evaluation.extractors,
                                                                       generated, {}),
                              {"protocol": protocol.name, "fingerprint": evaluation.fingerprint, "side": "generated",
                               "samples_sha256": images_sha256(images), "num_images": len(images)}))
    run_id = new_run_id(protocol.name, EXTERNAL)
    artifacts = {"grid": f"{run_id}.grid.png", "samples_dir": None}
    record = evaluation.record(
        run_id, reference_section, metrics, started, clock, options.command,
        plugin=images_without_a_model(EXTERNAL, f"samples read from {options.samples}", protocol.task.value),
        samples={"num_samples": len(images), "source": str(options.samples), "sha256": images_sha256(images),
                 "conversion": conversion, "feature_batch_size": protocol.sampling.feature_batch_size,
                 "conditions": protocol.sampling.conditions,
                 "captions_file": str(options.captions) if options.captions else None},
        artifacts=artifacts,
    )
    with in_use(results_dir):  # while held, no run's clean-up takes this grid for a dead run's
        save_grid(images[:GRID_IMAGES], results_dir / artifacts["grid"])
        path = write_result(results_dir, record)
    log(f"result written to {path}")
    record["path"] = str(path)
    return record
