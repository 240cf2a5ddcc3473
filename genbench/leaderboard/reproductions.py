"""Runs of one identity are one leaderboard entry: re-running a command reproduces a row, it does not add one.

A run's identity is what decides its numbers: protocol fingerprint, plugin, checkpoint SHA-256,
sampling settings and seed. The entry shows the oldest run (the one that trained, when any) and
says how many runs share its identity and whether their metrics (value and spread) were identical.
Reported rows and runs without a checkpoint hash (samples scored from files) are never merged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reproduction:
    """The runs behind one entry, oldest first (the first is shown), and whether their metrics all agree."""

    run_ids: tuple[str, ...]
    identical: bool

    @property
    def count(self) -> int:
        return len(self.run_ids)

    def describe(self) -> str:
        """``1 run``, ``3 runs, identical`` or ``2 runs, numbers differ``: the leaderboard's "runs" cell."""
        if self.count == 1:
            return "1 run"
        return f"{self.count} runs, {'identical' if self.identical else 'numbers differ'}"


def run_identity(record: dict[str, Any]) -> str | None:
    """The identity of a measured run with a checkpoint hash, as canonical JSON; None when it has none."""
    plugin = record.get("plugin") or {}
    if record.get("status") == "reported" or not plugin.get("checkpoint_sha256"):
        return None
    return json.dumps({"fingerprint": (record.get("protocol") or {}).get("fingerprint"),
                       "plugin": plugin.get("name"), "checkpoint_sha256": plugin["checkpoint_sha256"],
                       "settings": plugin.get("settings") or {}, "seed": (record.get("samples") or {}).get("seed")},
                      sort_keys=True, default=str)


def metric_numbers(record: dict[str, Any]) -> str:
    """Every metric's value and spread, canonical: equal strings mean identical numbers (NaN equals NaN)."""
    numbers = {key: [metric.get("value"), metric.get("std")] for key, metric in (record.get("metrics") or {}).items()}
    return json.dumps(numbers, sort_keys=True, allow_nan=True)


def merge_reproductions(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Reproduction]]:
    """The records with reproductions folded into their oldest run, and each kept run's ``Reproduction``."""
    chronological = sorted(records, key=lambda r: (r.get("finished_at") or "", r["run_id"]))
    by_identity: dict[str, list[dict[str, Any]]] = {}
    kept: list[dict[str, Any]] = []
    for record in chronological:
        identity = run_identity(record)
        if identity is None:
            kept.append(record)
            continue
        runs = by_identity.setdefault(identity, [])
        if not runs:
            kept.append(record)
        runs.append(record)
    reproductions = {runs[0]["run_id"]: Reproduction(tuple(r["run_id"] for r in runs),
                                                     len({metric_numbers(r) for r in runs}) == 1)
                     for runs in by_identity.values()}
    order = {id(record): position for position, record in enumerate(records)}
    return sorted(kept, key=lambda r: order[id(r)]), reproductions
