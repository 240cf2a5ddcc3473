"""Published ("reported") numbers typed into TOML files, turned into result records with status "reported".

A reported row is shown on its protocol's page, marked as reported and never ranked: the
numbers were not measured by genbench, usually not under the same protocol. The file format
is documented in README.md ("Reported rows"); every field is checked and an unknown or
mistyped one is a one-line ``ResultsError`` naming the file and the row.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from genbench.errors import ResultsError
from genbench.leaderboard.links import http_url
from genbench.storage.files import TOML_FILE_LIMIT, read_regular_file
from genbench.storage.results import RESULT_SCHEMA_VERSION

FILE_FIELDS = {"source": str, "url": str, "rows": list}
ROW_FIELDS = {
    "protocol": str, "fingerprint": str, "model": str, "measured_as": str, "date": str, "device": str,
    "checkpoint": str, "plugin_version": str, "seconds_per_image": float, "batch_size": int,
    "network_evaluations_per_image": int, "parameters": dict, "training": dict, "metrics": dict,
}
REQUIRED_ROW_FIELDS = ("protocol", "model", "metrics")
PARAMETER_FIELDS = {"all": int, "trainable": int}
TRAINING_FIELDS = {"epochs": int, "steps": int, "seconds": float, "seconds_per_epoch": float, "batch_size": int}
METRIC_FIELDS = {"value": float, "std": float, "higher_is_better": bool, "metric": str}


def _checked(table: dict[str, Any], fields: dict[str, type], where: str) -> dict[str, Any]:
    """``table`` with ints accepted as floats; an unknown key or a wrong type is a ``ResultsError``."""
    checked = {}
    for key, value in table.items():
        kind = fields.get(key)
        if kind is None:
            raise ResultsError(f"{where}: unknown field '{key}' (known: {', '.join(sorted(fields))})")
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ResultsError(f"{where}: field '{key}' must be {kind.__name__}, got {value!r}")
        checked[key] = value
    return checked


def _metric(value: Any, where: str) -> dict[str, Any]:
    """A metric given as a bare number or as ``{value, std, higher_is_better, metric}`` (``metric``: its kind,
    e.g. ``classifier_confidence``, which puts the row in the views made for that kind)."""
    table = value if isinstance(value, dict) else {"value": value}
    metric = _checked(table, METRIC_FIELDS, where)
    if "value" not in metric:
        raise ResultsError(f"{where}: field 'value' is missing")
    return {"metric": metric.get("metric"), "extractor": None, "feature": None, "settings": {}, "value": metric["value"],
            "std": metric.get("std"), "higher_is_better": metric.get("higher_is_better"), "extras": {}}


def reported_record(row: dict[str, Any], run_id: str, source: str, url: str | None, where: str) -> dict[str, Any]:
    """One reported row as a result record (``RESULT_SCHEMA_VERSION``) with status "reported"."""
    row = _checked(row, ROW_FIELDS, where)
    for key in REQUIRED_ROW_FIELDS:
        if key not in row:
            raise ResultsError(f"{where}: field '{key}' is missing")
    metrics = {key: _metric(value, f"{where} metric '{key}'") for key, value in row["metrics"].items()}
    training = _checked(row.get("training", {}), TRAINING_FIELDS, f"{where} training")
    if "seconds" not in training and {"epochs", "seconds_per_epoch"} <= training.keys():
        training["seconds"] = training["epochs"] * training["seconds_per_epoch"]
    if "batch_size" in training:
        training["recipe"] = {"batch_size": training.pop("batch_size")}
    speed = {"device": row.get("device"), "network_evaluations_per_image": row.get("network_evaluations_per_image"),
             "by_batch_size": {}}
    if "seconds_per_image" in row:
        batch = row.get("batch_size", 1)
        seconds = row["seconds_per_image"]
        speed["by_batch_size"][str(batch)] = {"batch_size": batch, "seconds_per_image": seconds,
                                              "images_per_second": 1.0 / seconds if seconds > 0 else None}
    return {
        "schema_version": RESULT_SCHEMA_VERSION,
        "run_id": run_id,
        "status": "reported",
        "protocol": {"name": row["protocol"], "version": None, "fingerprint": row.get("fingerprint"),
                     "task": None, "description": "", "source": None, "definition": None},
        "plugin": {"name": row["model"], "version": row.get("plugin_version"), "checkpoint": row.get("checkpoint"),
                   "checkpoint_sha256": None, "settings": {}},
        "metrics": metrics,
        "speed": speed,
        "parameters": _checked(row.get("parameters", {}), PARAMETER_FIELDS, f"{where} parameters"),
        "training": training or None,
        "artifacts": {},
        "environment": {"hardware": {"device": row.get("device")}},
        "reported": {"source": source, "url": url, "measured_as": row.get("measured_as")},
        "command": None,
        "finished_at": row.get("date"),
    }


def read_reported_file(path: Path) -> list[dict[str, Any]]:
    """The rows of one reported-numbers TOML file as result records (run ids ``reported__<stem>__<n>``)."""
    data = read_regular_file(Path(path), TOML_FILE_LIMIT, "reported file", ResultsError)
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ResultsError(f"reported file {path}: not valid TOML: {exc}") from None
    top = _checked(raw, FILE_FIELDS, f"reported file {path}")
    if "source" not in top:
        raise ResultsError(f"reported file {path}: field 'source' is missing (where the numbers were published)")
    if "url" in top and http_url(top["url"]) is None:
        raise ResultsError(f"reported file {path}: field 'url' must start with https:// or http://, got {top['url']!r}")
    records = []
    for index, row in enumerate(top.get("rows", []), start=1):
        where = f"reported file {path} row {index}"
        if not isinstance(row, dict):
            raise ResultsError(f"{where}: must be a table ([[rows]])")
        records.append(reported_record(row, f"reported__{Path(path).stem}__{index:02d}", top["source"],
                                       top.get("url"), where))
    return records


def read_reported_dir(directory: Path | None) -> list[dict[str, Any]]:
    """All reported rows of ``directory/*.toml`` in file-name order; none when the directory is absent."""
    if directory is None or not Path(directory).is_dir():
        return []
    return [record for path in sorted(Path(directory).glob("*.toml")) for record in read_reported_file(path)]
