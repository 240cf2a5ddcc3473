"""Scoring samples made elsewhere under a protocol: an evaluation without a model.

The samples go through the protocol's extractors in the same fixed chunks as a run, against the
same cached reference features, and the result is written like a run's with the plugin recorded
as ``external``. Samples must have the protocol's image size; grey samples for an RGB protocol
get their channel repeated (recorded in the result); colour samples for a grey protocol are refused.

Conditions are the samples' own: on a class-conditional protocol each image's class comes from the
``.npz``'s ``arr_1`` (a batch without one, or a class outside the protocol's, is refused before any
feature is extracted); on a text-to-image protocol captions come from ``--captions`` (one per line, or
JSONL naming the folder's files), else image *i* is taken to have the protocol's caption *i*, the
order ``genbench run`` generates in.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from genbench.datasets.base import ImageDataset
from genbench.errors import DataError, status_line
from genbench.evaluation.device import use_threads
from genbench.evaluation.options import ScoreOptions
from genbench.evaluation.record import images_without_a_model
from genbench.evaluation.samples import NPZ_LABELS, Samples, fit_to_protocol, load_captions, load_samples
from genbench.evaluation.session import open_evaluation, protocol_for
from genbench.evaluation.statistics_export import collect_statistics, export_statistics, statistics_entries
from genbench.extractors.feature_pass import extract_features
from genbench.protocols.additions import add_metrics
from genbench.protocols.conditions import Conditions, class_plan_record, plan_conditions
from genbench.protocols.overrides import override_protocol
from genbench.protocols.protocol import Protocol
from genbench.registry import get_registry
from genbench.storage.housekeeping import in_use
from genbench.storage.images import save_grid
from genbench.storage.results import ensure_writable, new_run_id, utc_now, write_result
from genbench.trust.hashing import images_sha256

EXTERNAL = "external"
#: Images of the result's sample grid.
GRID_IMAGES = 64


def samples_conditions(samples: Samples, options: ScoreOptions, protocol: Protocol, reference: ImageDataset,
                       log: Callable[[str], None], needs_labels: list[str]) -> Conditions:
    """The condition of each sample: its class from ``arr_1`` (class-conditional protocols; checked against the
    protocol's classes, required where a metric, ``needs_labels``, reads it), its caption from ``--captions`` or the
    protocol's caption plan."""
    source, classes = options.samples, reference.num_classes
    if protocol.sampling.conditions == "classes":
        if samples.labels is None and needs_labels:
            raise DataError(f"protocol '{protocol.name}' is class-conditional and its {', '.join(needs_labels)} "
                            f"read each image's class: score it on an .npz whose '{NPZ_LABELS}' holds them (as "
                            f"guided-diffusion's and DiT's samplers write); {source} has no labels")
        if samples.labels is None:
            return Conditions()  # FID, sFID, IS, precision and recall (the ADM evaluator's) read no classes
        if options.captions is not None:
            raise DataError(f"--captions: protocol '{protocol.name}' is class-conditional; its samples' classes "
                            f"come from '{NPZ_LABELS}'")
        outside = [label for label in samples.labels if not 0 <= label < classes]
        if outside:
            raise DataError(f"{source}: '{NPZ_LABELS}' holds class {outside[0]}, outside protocol "
                            f"'{protocol.name}''s {classes} classes (0 to {classes - 1})")
        return Conditions(labels=samples.labels)
    if samples.labels is not None:
        log(f"'{NPZ_LABELS}' of {source} ignored: protocol '{protocol.name}' is {protocol.task.value}")
    if options.captions is not None:
        return Conditions(captions=load_captions(options.captions, len(samples.images), samples.files))
    return plan_conditions(protocol, reference)


def score_samples(options: ScoreOptions) -> dict[str, Any]:
    """Score ``options.samples`` on ``options.protocol``; returns the written result record."""
    started, clock = utc_now(), time.perf_counter()
    use_threads(options.threads)
    log, registry = status_line(options.quiet), get_registry()
    protocol = add_metrics(protocol_for(options, registry), registry.metric, options.metrics, options.bootstrap)
    if options.export_stats is not None:
        statistics_entries(protocol, registry)  # a protocol without a Fréchet distance is refused before any work
    results_dir = ensure_writable(options.results_dir)
    samples = load_samples(options.samples)
    images, conversion = fit_to_protocol(samples.images, protocol, options.samples)
    if conversion:
        log(conversion)
    if len(images) != protocol.sampling.num_samples:
        log(f"{len(images)} samples, protocol '{protocol.name}' names {protocol.sampling.num_samples}: "
            f"scored as protocol.sampling.num_samples={len(images)} (its own fingerprint)")
        protocol = override_protocol(protocol, {"sampling.num_samples": str(len(images))})
    evaluation = open_evaluation(protocol, options, registry, log)
    conditions = samples_conditions(samples, options, protocol, evaluation.reference, log,
                                    [e.key for e in protocol.metrics if registry.metric(e.metric).needs_labels])
    evaluation.check_metrics(conditions)
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
                 "conversion": conversion, "decoding": samples.decoding,
                 "feature_batch_size": protocol.sampling.feature_batch_size,
                 "conditions": protocol.sampling.conditions,
                 "captions_file": str(options.captions) if options.captions else None,
                 "labels": class_plan_record(conditions.labels, evaluation.reference.num_classes,
                                             f"{NPZ_LABELS} of {options.samples}") if conditions.labels else None},
        artifacts=artifacts,
    )
    with in_use(results_dir):  # while held, no run's clean-up takes this grid for a dead run's
        save_grid(images[:GRID_IMAGES], results_dir / artifacts["grid"])
        path = write_result(results_dir, record)
    log(f"result written to {path}")
    record["path"] = str(path)
    return record
