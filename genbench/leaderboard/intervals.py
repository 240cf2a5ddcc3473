"""Which runs of a protocol its intervals cannot tell apart: pairs whose 95 % intervals overlap."""

from __future__ import annotations

from typing import Any

from genbench.leaderboard.tables import MetricInfo


def overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """True when closed intervals ``a`` and ``b`` share a point."""
    return max(a[0], b[0]) <= min(a[1], b[1])


def indistinguishable(rows: list[dict[str, Any]], metrics: list[MetricInfo]) -> list[dict[str, Any]]:
    """Per metric with intervals: the pairs of measured runs (in ranking order) whose intervals overlap.

    ``rows`` are the group frame's records (label, run_id, reported, ``<key>_low`` / ``_high``).
    """
    found = []
    for metric in metrics:
        runs = [(row, (row[f"{metric.key}_low"], row[f"{metric.key}_high"])) for row in rows
                if not row["reported"] and _finite(row.get(f"{metric.key}_low")) and _finite(row.get(f"{metric.key}_high"))]
        pairs = [(a, b) for i, (a, ia) in enumerate(runs) for b, ib in runs[i + 1:] if overlaps(ia, ib)]
        if len(runs) >= 2:
            found.append({"metric": metric.label, "runs": len(runs), "pairs": pairs})
    return found


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and value == value and abs(value) != float("inf")
