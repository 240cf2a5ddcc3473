"""The result record, assembled in one place for every command that writes one (schema:
``genbench.storage.results``): a run's, scored samples' and the real images' rows differ only in the
sections they pass in."""

from __future__ import annotations

import time
from typing import Any

import torch

from genbench.datasets.base import ImageDataset
from genbench.extractors.base import FeatureExtractor
from genbench.protocols.protocol import Protocol
from genbench.storage.results import RESULT_SCHEMA_VERSION, utc_now
from genbench.trust.provenance import environment


def reference_section(protocol: Protocol, reference: ImageDataset, identity: dict[str, Any],
                      cache_hits: dict[str, bool], statistics: dict[str, Any] | None = None) -> dict[str, Any]:
    """The result's ``reference`` section: split, size, content identity, cache use, the published statistics
    metrics read instead of features (``statistics``, by metric key, when any) and what loading found."""
    section = {"split": protocol.data.reference_split, "num_images": len(reference),
               "sha256": identity["sha256"], "identity": identity["parts"], "cache_hits": cache_hits}
    if statistics:
        section["statistics"] = statistics
    if identity.get("mismatch"):
        section["mismatch"] = identity["mismatch"]
    if reference.class_names:
        section["class_names"] = list(reference.class_names)
    return {**section, "data_info": reference.info} if reference.info else section


def images_without_a_model(name: str, description: str, task: str, distribution: str | None = None,
                           version: str | None = None) -> dict[str, Any]:
    """The ``plugin`` section of a result whose images no plugin made here (samples read from files, the
    protocol's real images): no model, checkpoint, config or settings."""
    return {"name": name, "model": None, "description": description, "distribution": distribution,
            "version": version, "task": task, "checkpoint": None, "checkpoint_sha256": None, "config": None,
            "settings": {}, "capabilities": []}


def result_record(protocol: Protocol, fingerprint: str, extractors: dict[str, FeatureExtractor],
                  device: torch.device, run_id: str, reference: dict[str, Any], metrics: dict[str, Any],
                  started: str, clock: float, command: list[str] | None, **sections: Any) -> dict[str, Any]:
    """A result record: the protocol and its fingerprint, the extractors, the reference section and the metrics,
    plus ``sections`` (plugin, samples, speed, parameters, training, artifacts, warnings); the sections a command
    has nothing for are null."""
    sections = {"speed": None, "parameters": None, "training": None, **sections}
    return {
        "schema_version": RESULT_SCHEMA_VERSION,
        "run_id": run_id,
        "status": "measured",
        "protocol": {"name": protocol.name, "version": protocol.version, "fingerprint": fingerprint,
                     "task": protocol.task.value, "description": protocol.description,
                     "source": protocol.source, "definition": protocol.definition()},
        **sections,
        "extractors": {n: {"kind": protocol.extractors[n]["kind"], **e.describe()}
                       for n, e in extractors.items()},
        "reference": reference,
        "metrics": metrics,
        "environment": environment(device),
        "command": command,
        "started_at": started,
        "finished_at": utc_now(),
        "duration_seconds": time.perf_counter() - clock,
    }
