"""Result records crafted by hand for the leaderboard tests and bench, following ``genbench.storage.results``' schema.

No model is trained: the numbers are chosen so that orders and best values are known in advance.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

from PIL import Image

DEFINITION: dict[str, Any] = {
    "name": "digits", "version": 1, "task": "unconditional",
    "data": {"dataset": "digits", "image_size": 16, "channels": 1, "reference_split": "test", "train_split": "train"},
    "sampling": {"num_samples": 1000, "seed": 0, "shard_size": 250, "batch_size": 250, "feature_batch_size": 50,
                 "conditions": "none"},
    "speed": {"batch_sizes": [1, 250], "warmup": 2, "repeats": 5},
    "extractors": {"classifier": {"kind": "classifier", "weights": "digits_classifier.safetensors",
                                  "sha256": "57f0811", "test_accuracy": 0.9861}},
    "metrics": {"fd": {"metric": "fid", "extractor": "classifier", "feature": "penultimate"},
                "kid": {"metric": "kid", "extractor": "classifier", "feature": "penultimate"},
                "confidence": {"metric": "classifier_confidence", "extractor": "classifier", "feature": "logits"}},
}


def definition(**changes: Any) -> dict[str, Any]:
    """The digits definition with dotted-key changes, e.g. ``definition(**{"sampling.num_samples": 400})``."""
    result = copy.deepcopy(DEFINITION)
    for dotted, value in changes.items():
        *path, last = dotted.split(".")
        table = result
        for key in path:
            table = table[key]
        table[last] = value
    return result


def make_record(run_id: str, plugin: str = "vae", *, fd: float = 10.0, kid: float = 0.1, confidence: float = 0.8,
                seconds_per_image: float = 0.001, fingerprint: str = "fp1", protocol: str = "digits",
                protocol_definition: dict[str, Any] | None = None, settings: dict[str, Any] | None = None,
                checkpoint_sha256: str | None = None, finished_at: str = "2026-11-20T10:00:00+00:00",
                nfe: int = 1, grid: str | None = None, gallery: Any = None, status: str = "measured") -> dict[str, Any]:
    """One result record of schema 1 with the given numbers; each run id gets its own checkpoint hash unless
    one is given (records of one identity are one leaderboard entry)."""
    checkpoint_sha256 = checkpoint_sha256 or hashlib.sha256(run_id.encode()).hexdigest()
    definition_ = protocol_definition or DEFINITION
    artifacts: dict[str, Any] = {"grid": grid, "samples_dir": None}
    if gallery is not None:
        artifacts["gallery"] = gallery
    return {
        "schema_version": 1, "run_id": run_id, "status": status,
        "protocol": {"name": protocol, "version": definition_["version"], "fingerprint": fingerprint,
                     "task": "unconditional", "description": f"{protocol} test protocol", "source": "test",
                     "definition": definition_},
        "plugin": {"name": plugin, "model": "Model", "description": "", "distribution": "genbench", "version": "0.1.0",
                   "task": "unconditional", "checkpoint": f"/ckpt/{plugin}.safetensors",
                   "checkpoint_sha256": checkpoint_sha256, "config": {}, "settings": settings or {},
                   "capabilities": []},
        "samples": {"num_samples": 1000, "seed": 0, "shard_size": 250, "batch_size": 250, "feature_batch_size": 50},
        "extractors": {"classifier": {"kind": "classifier", "weights_sha256": "57f0811"}},
        "metrics": {
            "fd": {"metric": "fid", "extractor": "classifier", "feature": "penultimate", "settings": {},
                   "value": fd, "std": None, "higher_is_better": False, "extras": {}},
            "kid": {"metric": "kid", "extractor": "classifier", "feature": "penultimate", "settings": {},
                    "value": kid, "std": kid / 10, "higher_is_better": False, "extras": {}},
            "confidence": {"metric": "classifier_confidence", "extractor": "classifier", "feature": "logits",
                           "settings": {"threshold": 0.8}, "value": confidence, "std": 0.1,
                           "higher_is_better": True,
                           "extras": {"share_above_threshold": confidence / 2, "threshold": 0.8,
                                      "histogram": {"edges": [0.0, 0.25, 0.5, 0.75, 1.0], "counts": [1, 2, 3, 4]}}},
        },
        "speed": {"device": "cpu", "network_evaluations_per_image": nfe, "by_batch_size": {
            "1": {"batch_size": 1, "seconds_per_image": seconds_per_image, "images_per_second": 1 / seconds_per_image},
            "250": {"batch_size": 250, "seconds_per_image": seconds_per_image / 10,
                    "images_per_second": 10 / seconds_per_image}}},
        "parameters": {"all": 344917, "trainable": 344917},
        "training": {"epochs": 60, "steps": 1380, "seconds": 10.5, "seconds_per_epoch": 0.175, "final_loss": 1.0,
                     "recipe": {"batch_size": 64, "epochs": 60}},
        "artifacts": artifacts,
        "environment": {"hardware": {"device": "cpu", "cpu": "Test CPU", "cpu_count": 2, "gpu": None},
                        "python": "3.11.9", "platform": "Linux", "libraries": {"torch": "2.14.1"}},
        "command": ["genbench", "run", "--plugin", plugin, "--protocol", protocol],
        "started_at": "2026-11-20T09:59:00+00:00", "finished_at": finished_at, "duration_seconds": 60.0,
    }


def write_records(results_dir: Path, records: list[dict[str, Any]]) -> Path:
    """Each record as ``<run_id>.json`` (and a small grid PNG where the record names one)."""
    results_dir.mkdir(parents=True, exist_ok=True)
    for number, record in enumerate(records):
        (results_dir / f"{record['run_id']}.json").write_text(json.dumps(record, indent=2, sort_keys=True),
                                                              encoding="utf-8")
        grid = record["artifacts"].get("grid")
        if grid:
            Image.new("L", (16, 16), color=number * 37 % 256).save(results_dir / grid)
    return results_dir


def demo_records() -> list[dict[str, Any]]:
    """A small leaderboard: three models, a DDIM step sweep, an escaped name, another fingerprint."""
    records = [
        make_record("digits__vae__1", "vae", fd=15.3, kid=0.35, confidence=0.89, seconds_per_image=0.0003,
                    grid="digits__vae__1.grid.png"),
        make_record("digits__ddpm__1", "ddpm", fd=4.1, kid=0.02, confidence=0.95, seconds_per_image=0.9, nfe=1000,
                    checkpoint_sha256="cd" * 32, finished_at="2026-11-21T10:00:00+00:00"),
        make_record("digits__evil__1", "<script>alert(1)</script>", fd=30.0, kid=0.9, confidence=0.5,
                    seconds_per_image=0.0002, checkpoint_sha256="ef" * 32),
        make_record("digits__other__1", "vae", fd=99.0, fingerprint="fp2",
                    protocol_definition=definition(**{"sampling.num_samples": 400})),
    ]
    for steps, fd in ((10, 9.0), (20, 6.5), (50, 5.0), (100, 4.6)):
        records.append(make_record(f"digits__ddim__{steps:03d}", "ddim", fd=fd, kid=fd / 40, confidence=0.9,
                                   seconds_per_image=0.0009 * steps, nfe=steps, settings={"steps": steps, "eta": 0.0},
                                   checkpoint_sha256="cd" * 32))
    return records
