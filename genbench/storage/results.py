"""Result records: one schema-versioned JSON file per run, written atomically; loaded into pandas.

The record's shape is ``RESULT_FIELDS`` below, declared once: docs/results.md is generated from it, every
record read is checked against it (``check_record``), and a test checks that a real run's record has no field
or key it does not describe.
"""

from __future__ import annotations

import errno
import json
import math
import os
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from genbench.errors import ResultsError
from genbench.storage.files import atomic_write_text, read_regular_file

RESULT_SCHEMA_VERSION = 2

_NUMBER = (int, float)
_NONE = type(None)


@dataclass(frozen=True)
class Field:
    """One top-level field of a record: what it holds (docs/results.md), the keys of its table where it has fixed
    ones, and the types readers (``show``, ``flatten``, the leaderboard) accept for it and for the paths below it
    (``*`` is any key; a required field's types leave out None)."""

    doc: str
    types: tuple[type, ...] = ()
    keys: tuple[str, ...] = ()
    checked: dict[str, tuple[type, ...]] = field(default_factory=dict)


#: Every top-level field of a record (``RESULT_SCHEMA_VERSION``), declared once: the documentation and the checks
#: a record passes before anything reads it both come from here.
RESULT_FIELDS: dict[str, Field] = {
    "schema_version": Field("integer: this module's `RESULT_SCHEMA_VERSION`; newer files are refused"),
    "run_id": Field("`<protocol>__<plugin>__<UTC time>__<random>`, unique; also the file name stem", (str,)),
    "status": Field('`"measured"` (a genbench run) or `"reported"` (a published number typed in)', (str, _NONE)),
    "protocol": Field("the protocol and its fingerprint; `definition` is the fingerprinted part of the file", (dict,),
                      ("name", "version", "fingerprint", "task", "description", "source", "definition"),
                      {"name": (str,), "version": (int,), "fingerprint": (str,), "description": (str, _NONE),
                       "task": (str, _NONE)}),
    "plugin": Field("the model: plugin, distribution and version, checkpoint and its SHA-256, config, the settings "
                    "it sampled with and those it would have without `--set` (`default_settings`)", (dict,),
                    ("name", "model", "description", "distribution", "version", "task", "checkpoint",
                     "checkpoint_sha256", "config", "settings", "default_settings", "capabilities", "code"),
                    {"name": (str,), "version": (str, _NONE), "settings": (dict, _NONE), "checkpoint": (str, _NONE),
                     "checkpoint_sha256": (str, _NONE), "default_settings": (dict, _NONE)}),
    "samples": Field("how the samples were made (runs) or where they were read (`genbench score`); `conversion`: what "
                     "genbench did to bring them to the protocol's size and channels; `decoding`: how image files "
                     "that were not 8-bit grey or RGB were read (16-bit, 1-bit, opaque alpha); `labels`, for "
                     "class-conditional ones: where the classes came from (the plan, or an .npz's arr_1), the plan's "
                     "rule, the count per class and the SHA-256 of the list of classes", (dict, _NONE),
                     ("num_samples", "seed", "shard_size", "batch_size", "feature_batch_size", "conditions",
                      "samples_per_caption", "captions_truncated_by_model", "source", "sha256", "conversion",
                      "decoding",                      "captions_file", "labels", "distinct", "determinism", "halves", "two_set_metrics",
                      "one_set_metrics"),
                     {"num_samples": (int, _NONE), "source": (str, _NONE), "determinism": (dict, _NONE),
                      "distinct": (int, _NONE), "labels": (dict, _NONE)}),
    "extractors": Field("per extractor name: `kind`, `weights_sha256` and its settings"),
    "metrics": Field("per metric key: `metric`, `extractor`, `feature`, `settings`, `value`, `std`, "
                     "`higher_is_better`, `extras` (histograms, shares, counts), `interval` (null, or the "
                     "bootstrap's `low`, `high`, `level`, `rounds`, `seed`, `std`, `method`)", (dict, _NONE), (),
                     {"*": (dict,), "*.value": (*_NUMBER, _NONE), "*.std": (*_NUMBER, _NONE),
                      "*.metric": (str, _NONE), "*.extractor": (str, _NONE), "*.feature": (str, _NONE),
                      "*.higher_is_better": (bool, _NONE), "*.extras": (dict, _NONE)}),
    "speed": Field("the timed section (null for scored samples); `by_batch_size` maps a batch size to "
                   "`seconds_per_image`, `images_per_second`, `seconds`, `timed_images`, `batch_size`; "
                   "`machine_load` before and after it and `contended` when other work competed for the hardware",
                   (dict, _NONE),
                   ("device", "network_evaluations_per_image", "by_batch_size", "peak_device_memory_bytes",
                    "warmup_batches", "repeats", "machine_load", "contended"),
                   {"by_batch_size": (dict, _NONE), "by_batch_size.*": (dict,),
                    "by_batch_size.*.seconds_per_image": (*_NUMBER, _NONE),
                    "by_batch_size.*.images_per_second": (*_NUMBER, _NONE),
                    "network_evaluations_per_image": (*_NUMBER, _NONE), "contended": (bool, _NONE),
                    "machine_load": (dict, _NONE)}),
    "parameters": Field("parameter counts (null for scored samples)", (dict, _NONE), ("all", "trainable"),
                        {"all": (int, _NONE), "trainable": (int, _NONE)}),
    "training": Field("the training of the checkpoint (null when one was given): cost, the recipe and where it "
                      "came from, the checkpoint's SHA-256 and the training identity that names it (plugin, config, "
                      "recipe, seed, data, code, device type, threads, library versions)", (dict, _NONE),
                      ("epochs", "steps", "seconds", "seconds_per_epoch", "final_loss", "recipe", "recipe_source",
                       "checkpoint_sha256", "identity"),
                      {"epochs": (int, _NONE), "steps": (int, _NONE), "seconds": (*_NUMBER, _NONE),
                       "seconds_per_epoch": (*_NUMBER, _NONE), "recipe": (dict, _NONE)}),
    "reference": Field("the reference split read: its content identity `sha256` (in the fingerprint; a reference "
                       "file's own SHA-256) and the parts it hashes (`identity`), `mismatch` {expected, found} under "
                       "--allow-reference-mismatch, cache use, `statistics`: the published statistics each Fréchet "
                       "distance read instead of features (by metric key: array, space, how the space is known), "
                       "`class_names` where the data set names its classes, and `data_info` when the loader reports "
                       "skipped images, dropped captions or selection hashes", (dict, _NONE),
                       ("split", "num_images", "sha256", "identity", "mismatch", "cache_hits", "statistics",
                        "class_names",
                        "data_info"),
                       {"sha256": (str, _NONE)}),
    "warnings": Field("what a reader must know, one sentence each: few distinct samples, a non-deterministic "
                      "plugin", (list, _NONE)),
    "artifacts": Field("files beside the result: the sample grid, `--save-samples` folder, prompt gallery grids",
                       (dict, _NONE), ("grid", "samples_dir", "gallery"), {"grid": (str, _NONE)}),
    "environment": Field("where it ran: device, CPU, GPU, torch threads, Python, platform, library versions",
                         (dict, _NONE), ("hardware", "threads", "python", "platform", "libraries"),
                         {"hardware": (dict, _NONE)}),
    "reported": Field("reported rows only: where the numbers were published", (), ("source", "url", "measured_as")),
    "command": Field("the command line, a list of strings, or null (Python API)"),
    "started_at": Field("ISO-8601 UTC"),
    "finished_at": Field("ISO-8601 UTC", (str, _NONE)),
    "duration_seconds": Field("wall time of the run"),
}
#: The checks of ``RESULT_FIELDS`` as dotted paths: what ``check_record`` enforces.
RECORD_FIELDS: dict[str, tuple[type, ...]] = {
    path: kinds for name, spec in RESULT_FIELDS.items()
    for path, kinds in ([(name, spec.types)] if spec.types else []) + [(f"{name}.{sub}", k) for sub, k in
                                                                         spec.checked.items()]}


def new_run_id(protocol: str, plugin: str, when: datetime | None = None) -> str:
    """``<protocol>__<plugin>__<UTC time>__<random>``: sortable, and unique across concurrent runs."""
    when = when or datetime.now(timezone.utc)
    return f"{protocol}__{plugin}__{when.strftime('%Y%m%dT%H%M%S')}__{uuid.uuid4().hex[:8]}"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def ensure_writable(directory: Path, what: str = "results directory") -> Path:
    """Create ``directory`` if needed and check it can be written, before any work is done."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if _loops(directory):  # mkdir says "File exists" of a link that loops
            raise ResultsError(f"{what} {directory} is a symbolic link that loops") from None
        raise ResultsError(f"{what} {directory} cannot be created: {exc.strerror}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ResultsError(f"{what} {directory} is not writable")
    return directory


def _loops(path: Path) -> bool:
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def write_result(results_dir: Path, record: dict[str, Any]) -> Path:
    """Write ``record`` as ``<run_id>.json`` atomically; concurrent writers never clash."""
    path = Path(results_dir) / f"{record['run_id']}.json"
    atomic_write_text(path, json.dumps(record, indent=2, sort_keys=True, allow_nan=True) + "\n")
    return path


#: The largest result file read (a real one is tens of kilobytes) and the deepest nesting accepted.
RESULT_FILE_LIMIT = 64 * 2 ** 20
MAX_DEPTH = 100


def read_result(path: Path) -> dict[str, Any]:
    """One result record; a file that is not a genbench result is a ``ResultsError`` (FIFOs, devices and
    oversized or deeply nested files included: nothing blocks, nothing unbounded is read)."""
    path = Path(path)
    data = read_regular_file(path, RESULT_FILE_LIMIT, "result file", ResultsError)
    try:
        record = json.loads(data.decode("utf-8"))
    except RecursionError:
        raise ResultsError(f"result file {path} is nested more than {MAX_DEPTH} levels deep") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ResultsError(f"result file {path} is not valid JSON: {exc}") from None
    if _depth(record) > MAX_DEPTH:
        raise ResultsError(f"result file {path} is nested more than {MAX_DEPTH} levels deep")
    if not isinstance(record, dict) or "schema_version" not in record:
        raise ResultsError(f"result file {path} is not a genbench result (no schema_version)")
    check_record(record, f"result file {path}")
    return record


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in ``value`` (iteratively: a hostile file cannot exhaust the stack)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        node, level = todo.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                todo.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def check_record(record: dict[str, Any], origin: str) -> None:
    """Refuse a record whose schema version or any field in ``RECORD_FIELDS`` has the wrong type, a metric value
    that is not finite, a reported record without its source, or text that is not valid Unicode, naming it."""
    version = record.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ResultsError(f"{origin}: field 'schema_version' must be a whole number of at least 1, got {version!r}")
    if version > RESULT_SCHEMA_VERSION:
        raise ResultsError(f"{origin} has schema {version}; this genbench reads up to {RESULT_SCHEMA_VERSION}")
    for dotted, kinds in RECORD_FIELDS.items():
        for where, value in _field_values(record, dotted.split(".")):
            if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
                raise ResultsError(f"{origin}: field '{where}' must be {_expected(kinds)}, got {_json_type(value)}")
    for where, value in _field_values(record, ["metrics", "*", "value"]) + _field_values(record, ["metrics", "*",
                                                                                                  "std"]):
        if isinstance(value, float) and not math.isfinite(value):
            raise ResultsError(f"{origin}: field '{where}' must be a finite number, got {json.dumps(value)}")
    if record.get("status") == "reported" and not isinstance((record.get("reported") or {}).get("source"), str):
        raise ResultsError(f"{origin}: a reported record needs field 'reported.source' (where the numbers were "
                           f"published)")
    unreadable = _invalid_text(record)
    if unreadable is not None:
        raise ResultsError(f"{origin}: field '{unreadable}' holds text that is not valid Unicode (a lone surrogate)")


def _invalid_text(value: Any, where: str = "") -> str | None:
    """The path of the first string (key or value) that cannot be written as UTF-8, or None."""
    todo = [(value, where)]
    while todo:
        node, path = todo.pop(0)
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return path
        elif isinstance(node, dict):
            todo.extend((key, path) for key in node)
            todo.extend((child, f"{path}.{key}" if path else str(key)) for key, child in node.items())
        elif isinstance(node, list):
            todo.extend((child, f"{path}[{index}]") for index, child in enumerate(node))
    return None


def _field_values(record: Any, parts: list[str], prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted path, value) of every field a ``RECORD_FIELDS`` path names; absent fields read as None,
    fields under an absent or null parent are not there at all."""
    head, rest = parts[0], parts[1:]
    if head == "*":
        items = list(record.items()) if isinstance(record, dict) else list(enumerate(record)) \
            if isinstance(record, list) else []
    else:
        items = [(head, record.get(head))] if isinstance(record, dict) else []
    found = []
    for key, value in items:
        where = f"{prefix}{key}"
        if not rest:
            found.append((where, value))
        elif value is not None:
            found.extend(_field_values(value, rest, f"{where}."))
    return found


def _expected(kinds: tuple[type, ...]) -> str:
    names = {str: "a string", int: "a whole number", bool: "true or false", list: "a list", dict: "an object",
             _NONE: "null"}
    words = ["a number" if k is float else names[k] for k in kinds if not (k is int and float in kinds)]
    return " or ".join(words)


def _json_type(value: Any) -> str:
    names = {type(None): "null", bool: "a boolean", str: "a string", int: "a number", float: "a number",
             list: "a list", dict: "an object"}
    return names.get(type(value), type(value).__name__)


def scan_result_files(results_dir: Path) -> tuple[list[tuple[Path, dict[str, Any]]], list[tuple[Path, str]]]:
    """Every result file in ``results_dir`` (not recursive), sorted by file name: the readable ones with
    their records, the unreadable ones with the one-line reason (a bad file never hides the others)."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise ResultsError(f"results directory {results_dir} does not exist")
    readable, unreadable = [], []
    for path in sorted(p for p in results_dir.glob("*.json") if not p.name.startswith(".")):  # ours: manifest, temps
        try:
            readable.append((path, read_result(path)))
        except ResultsError as exc:
            unreadable.append((path, str(exc)))
    return readable, unreadable


def flatten(record: dict[str, Any]) -> dict[str, Any]:
    """One table row: identity columns, then ``<metric>``, ``<metric>_std`` and (where an interval was
    computed) ``<metric>_low`` / ``<metric>_high`` per metric, speed, size."""
    plugin, protocol, training = record["plugin"], record["protocol"], record.get("training") or {}
    row: dict[str, Any] = {
        "run_id": record["run_id"],
        "status": record.get("status", "measured"),
        "protocol": protocol["name"],
        "protocol_version": protocol["version"],
        "fingerprint": protocol["fingerprint"],
        "plugin": plugin["name"],
        "plugin_version": plugin.get("version"),
        "checkpoint_sha256": plugin.get("checkpoint_sha256"),
        "settings": json.dumps(plugin.get("settings") or {}, sort_keys=True),
        "num_samples": (record.get("samples") or {}).get("num_samples"),
        "finished_at": record.get("finished_at"),
    }
    for key, metric in (record.get("metrics") or {}).items():
        row[key] = metric.get("value")
        row[f"{key}_std"] = metric.get("std")
        interval = metric.get("interval") or {}
        if interval:
            row[f"{key}_low"], row[f"{key}_high"] = interval.get("low"), interval.get("high")
    speed = record.get("speed") or {}
    row["network_evaluations_per_image"] = speed.get("network_evaluations_per_image")
    row["speed_contended"] = bool(speed.get("contended"))
    for b, figures in (speed.get("by_batch_size") or {}).items():
        row[f"seconds_per_image_b{b}"] = figures.get("seconds_per_image")
        row[f"images_per_second_b{b}"] = figures.get("images_per_second")
    parameters = record.get("parameters") or {}
    row["parameters_all"] = parameters.get("all")
    row["parameters_trainable"] = parameters.get("trainable")
    row["training_seconds"] = training.get("seconds")
    row["training_epochs"] = training.get("epochs")
    row["training_steps"] = training.get("steps")
    row["training_seconds_per_epoch"] = training.get("seconds_per_epoch")
    row["training_batch_size"] = (training.get("recipe") or {}).get("batch_size")
    hardware = (record.get("environment") or {}).get("hardware") or {}
    row["device"] = hardware.get("device")
    row["gpu"] = hardware.get("gpu")
    return row


def load_results(results_dir: Path | str, strict: bool = False) -> pd.DataFrame:
    """All readable results in a directory as a DataFrame, one row per run (see ``flatten``), sorted by file name.

    An unreadable file (half-written by hand, another program's JSON, a newer schema) is skipped with a warning
    naming it, as the leaderboard lists it, so one bad file never hides the others; ``strict=True`` raises
    ``ResultsError`` for the first one instead.
    """
    readable, unreadable = scan_result_files(Path(results_dir))
    if unreadable and strict:
        raise ResultsError(unreadable[0][1])
    for _, reason in unreadable:
        warnings.warn(f"skipped: {reason}", stacklevel=2)
    return pd.DataFrame([flatten(record) for _, record in readable])


def describe_load(load: Any) -> str:
    """A recorded ``speed.machine_load`` in words: ``load 7.9 on 2 CPUs`` (the larger of before and after),
    and other GPU processes where known; fields a record lacks are left out."""
    load = load if isinstance(load, dict) else {}
    snapshots = [s for s in (load.get("before"), load.get("after")) if isinstance(s, dict)]
    averages = [s["load_average_1min"] for s in snapshots if isinstance(s.get("load_average_1min"), (int, float))]
    parts = [f"load {max(averages):.1f} on {snapshots[0].get('cpu_count')} CPUs"] if averages else []
    others = [s["gpu"].get("other_processes") for s in snapshots if isinstance(s.get("gpu"), dict)]
    others = [n for n in others if isinstance(n, int)]
    if others:
        parts.append(f"{max(others)} other GPU process(es)")
    return ", ".join(parts) or "load not recorded"
