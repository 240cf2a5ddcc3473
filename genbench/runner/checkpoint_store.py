"""Checkpoints that genbench trains itself, under ``RESULTS_DIR/checkpoints``: one training per identity.

A training's identity is everything that changes the trained weights: plugin, config, recipe,
seed, training data, the plugin's code, and what makes float arithmetic differ between two
machines (device type, torch's thread count, the versions of torch, diffusers and numpy). Its
hash names the checkpoint file. The report beside it (``.training.json``) records the identity
and the checkpoint's SHA-256 and is written last: a checkpoint without a matching report is never
used. Concurrent runs of one identity take a lock, so the training happens once and every result
names bytes that exist.

What genbench promises: the same identity on the same software gives the same checkpoint bytes
(checkpoints are written canonically). It does not promise equal weights across thread counts or
devices: those are different identities, trained and recorded separately.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, ContextManager

import torch

from genbench.models.base import TrainingReport
from genbench.storage.files import atomic_write_text
from genbench.storage.locks import exclusive
from genbench.trust.hashing import sha256_file, sha256_json
from genbench.trust.provenance import library_versions

#: Libraries whose version can change a training's arithmetic.
NUMERIC_LIBRARIES = ("torch", "diffusers", "numpy")


def numeric_environment(device: torch.device) -> dict[str, Any]:
    """What besides the inputs changes trained weights: device type, thread count, numeric library versions."""
    return {"device_type": device.type, "threads": torch.get_num_threads(),
            "libraries": library_versions(NUMERIC_LIBRARIES)}


def checkpoint_path(results_dir: Path, plugin: str, protocol: str, identity: dict[str, Any]) -> Path:
    """Where the checkpoint of one training identity lives."""
    return Path(results_dir) / "checkpoints" / f"{plugin}-{protocol}-{sha256_json(identity)[:12]}.safetensors"


def report_path(checkpoint: Path) -> Path:
    return checkpoint.with_name(checkpoint.name + ".training.json")


def training_lock(checkpoint: Path) -> ContextManager[None]:
    """An exclusive lock for one checkpoint path (other processes wait); the lock file stays."""
    return exclusive(checkpoint.with_name(f".{checkpoint.name}.lock"))


def verified_report(checkpoint: Path, identity: dict[str, Any]) -> tuple[TrainingReport | None, str]:
    """The training report when the checkpoint and its report exist and agree; else None and why not."""
    reports = report_path(checkpoint)
    if not checkpoint.exists() or not reports.exists():
        return None, "no finished training"
    try:
        record = json.loads(reports.read_text(encoding="utf-8"))
        report = TrainingReport(**record["report"])
        expected, recorded_identity = str(record["checkpoint_sha256"]), record["identity"]
    except (OSError, ValueError, TypeError, KeyError) as exc:
        return None, f"its training report {reports.name} is unreadable ({type(exc).__name__})"
    if recorded_identity != identity:
        return None, f"its training report {reports.name} belongs to another training"
    if sha256_file(checkpoint) != expected:
        return None, f"{checkpoint.name} does not match the SHA-256 recorded when it was trained (changed or damaged)"
    return report, "verified"


def write_report(checkpoint: Path, report: TrainingReport, identity: dict[str, Any]) -> None:
    """Record the finished training (the commit marker: written after the checkpoint)."""
    record = {"report": dataclasses.asdict(report), "identity": identity, "checkpoint_sha256": sha256_file(checkpoint)}
    atomic_write_text(report_path(checkpoint), json.dumps(record, sort_keys=True, indent=1))
