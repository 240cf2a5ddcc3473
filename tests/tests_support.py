"""Small builders shared by tests (records without training a model)."""

from __future__ import annotations

from genbench.storage.results import RESULT_SCHEMA_VERSION

#: Settings that keep a digits run to a few seconds: a short training and a smaller protocol.
FAST = {"train.max_steps": "40", "protocol.sampling.num_samples": "400", "protocol.speed.repeats": "1"}

#: A digits run without training: 400 samples (two shards of 250), one timed repeat.
SMALL = {"protocol.sampling.num_samples": "400", "protocol.speed.repeats": "1"}


def metric_values(record: dict) -> dict:
    """Each metric's (value, std): what must agree between runs that should be identical."""
    return {k: (m["value"], m["std"]) for k, m in record["metrics"].items()}


def minimal_record(run_id: str = "r", fd: float = 1.5) -> dict:
    """A result record with the fields ``show`` and ``load_results`` read."""
    return {
        "schema_version": RESULT_SCHEMA_VERSION, "run_id": run_id, "status": "measured",
        "protocol": {"name": "digits", "version": 1, "fingerprint": "abc"},
        "plugin": {"name": "vae", "distribution": "genbench", "version": "0.1.0", "settings": {}},
        "metrics": {"fd": {"metric": "fid", "extractor": "classifier", "feature": "penultimate",
                           "value": fd, "std": None, "higher_is_better": False, "extras": {}}},
    }
