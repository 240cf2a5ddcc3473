"""Records grouped by protocol fingerprint: only numbers within one group are ever ranked together.

Reported rows join the group of the fingerprint they name; without one, the protocol's
primary group (its newest version, then the most measured runs). Groups of the same protocol
name are related: each page names how their definitions differ. Within a group, runs of one
identity are one entry (``genbench.leaderboard.reproductions``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from genbench.leaderboard.reproductions import Reproduction, merge_reproductions


def is_reported(record: dict[str, Any]) -> bool:
    return record.get("status") == "reported"


def unranked_reason(record: dict[str, Any]) -> str | None:
    """Why a record is shown but never ranked: a reported (published) number, or a non-deterministic plugin."""
    if is_reported(record):
        return "reported"
    determinism = (record.get("samples") or {}).get("determinism") or {}
    if determinism.get("deterministic") is False:
        return "not deterministic"
    return None


def slug(text: str) -> str:
    """A file-name-safe form of ``text``; a hash suffix keeps distinct texts distinct."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:80]
    return safe if safe == text and safe else f"{safe or 'x'}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


@dataclass
class ProtocolGroup:
    """The runs of one protocol fingerprint (``fingerprint`` None: reported rows of an unmeasured protocol)."""

    name: str
    fingerprint: str | None
    records: list[dict[str, Any]] = field(default_factory=list)
    #: Shown run id -> the runs of its identity (reproductions are not in ``records``).
    reproductions: dict[str, Reproduction] = field(default_factory=dict)

    @property
    def measured(self) -> list[dict[str, Any]]:
        return [r for r in self.records if not is_reported(r)]

    @property
    def reported(self) -> list[dict[str, Any]]:
        return [r for r in self.records if is_reported(r)]

    @property
    def latest(self) -> dict[str, Any] | None:
        """The newest measured record: the protocol's description and definition come from it."""
        measured = self.measured
        return max(measured, key=lambda r: (r.get("finished_at") or "", r["run_id"])) if measured else None

    @property
    def version(self) -> int | None:
        return self.latest["protocol"].get("version") if self.latest else None

    @property
    def description(self) -> str:
        return (self.latest["protocol"].get("description") or "") if self.latest else ""

    @property
    def task(self) -> str | None:
        return self.latest["protocol"].get("task") if self.latest else None

    @property
    def definition(self) -> dict[str, Any] | None:
        return self.latest["protocol"].get("definition") if self.latest else None

    @property
    def last_update(self) -> str | None:
        return max((r.get("finished_at") or "" for r in self.records), default="") or None

    @property
    def heading(self) -> str:
        """``digits v1 — fingerprint bcf9…``, or the name alone for a group of reported rows only."""
        if self.fingerprint is None:
            return f"{self.name} — reported numbers only"
        version = f" v{self.version}" if self.version is not None else ""
        return f"{self.name}{version} — fingerprint {self.fingerprint}"

    @property
    def slug(self) -> str:
        return f"{slug(self.name)}--{slug(self.fingerprint) if self.fingerprint else 'reported'}"


def _primary_key(group: ProtocolGroup) -> tuple:
    return (group.version or 0, len(group.measured), group.last_update or "", group.fingerprint or "")


def group_records(records: list[dict[str, Any]]) -> list[ProtocolGroup]:
    """Groups sorted by protocol name, the primary group of each name first, then by version (newest first)."""
    groups: dict[tuple[str, str | None], ProtocolGroup] = {}
    unplaced: list[dict[str, Any]] = []
    for record in sorted(records, key=lambda r: r["run_id"]):
        name, fingerprint = record["protocol"]["name"], record["protocol"].get("fingerprint")
        if is_reported(record) and not fingerprint:
            unplaced.append(record)
            continue
        groups.setdefault((name, fingerprint), ProtocolGroup(name, fingerprint)).records.append(record)
    for record in unplaced:
        name = record["protocol"]["name"]
        candidates = [g for (n, _), g in groups.items() if n == name and g.measured]
        target = max(candidates, key=_primary_key) if candidates else groups.setdefault((name, None),
                                                                                       ProtocolGroup(name, None))
        target.records.append(record)
    by_name: dict[str, list[ProtocolGroup]] = {}
    for group in groups.values():
        group.records, group.reproductions = merge_reproductions(group.records)
        by_name.setdefault(group.name, []).append(group)
    return [g for name in sorted(by_name) for g in sorted(by_name[name], key=_primary_key, reverse=True)]


def _flat(definition: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(definition, dict):
        items: dict[str, Any] = {}
        for key in sorted(definition):
            items.update(_flat(definition[key], f"{prefix}{key}."))
        return items if items or not prefix else {prefix[:-1]: {}}
    return {prefix[:-1]: definition}


@dataclass(frozen=True)
class Change:
    """One differing key of two protocol definitions (``None`` side: the key is absent there)."""

    key: str
    here: Any
    there: Any


def definition_changes(here: dict[str, Any] | None, there: dict[str, Any] | None) -> list[Change]:
    """The dotted keys whose values differ between two ``protocol.definition`` dicts, sorted."""
    a, b = _flat(here or {}), _flat(there or {})
    return [Change(key, a.get(key), b.get(key)) for key in sorted(a.keys() | b.keys()) if a.get(key) != b.get(key)]


def _extractor_weights(group: ProtocolGroup) -> dict[str, Any]:
    latest = group.latest or {}
    return {name: info.get("weights_sha256") for name, info in sorted((latest.get("extractors") or {}).items())}


def group_differences(here: ProtocolGroup, there: ProtocolGroup) -> list[Change]:
    """Why two groups of one protocol name are not comparable: definition keys, else extractor weights.

    Nothing when either side holds only reported rows: those carry no definition to compare.
    """
    if here.definition is None or there.definition is None:
        return []
    changes = definition_changes(here.definition, there.definition)
    if here.version != there.version:
        changes = [c for c in changes if c.key != "version"]
        changes.insert(0, Change("version", here.version, there.version))
    if not changes:
        changes = [Change(f"extractors.{name}.weights_sha256", weights, _extractor_weights(there).get(name))
                   for name, weights in _extractor_weights(here).items()
                   if weights != _extractor_weights(there).get(name)]
    return changes
