"""The run page's per-class table: every metric that reports a per-class breakdown (``extras.per_class``: class
accuracy, intra-class FD), one row per class, with the reference set's class names where the result has them.

Result files may come from anywhere, so the table takes only what is well formed (rows that are objects with an
integer ``class``) and leaves the rest out; every cell reaches the page as text through the template's escaping.
"""

from __future__ import annotations

from typing import Any

from genbench.leaderboard import formatting

#: Tables with more classes than this start folded (ImageNet's 1 000 rows).
OPEN_ROWS = 30


def _rows(metric: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """A metric's per-class rows by class index, the well-formed ones only."""
    table = (metric.get("extras") or {}).get("per_class") if isinstance(metric, dict) else None
    if not isinstance(table, list):
        return {}
    return {row["class"]: row for row in table
            if isinstance(row, dict) and isinstance(row.get("class"), int) and not isinstance(row["class"], bool)}


def _cell(value: Any) -> str:
    return formatting.number(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else formatting.text(value)


def per_class_table(record: dict[str, Any]) -> dict[str, Any] | None:
    """Header groups (metric key and its fields), one row per class, and whether it starts open; None when no
    metric of the run has a per-class breakdown."""
    groups, by_metric = [], {}
    for key, metric in sorted((record.get("metrics") or {}).items()):
        rows = _rows(metric)
        if rows:
            fields = list(dict.fromkeys(field for row in rows.values() for field in row if field != "class"))
            groups.append({"key": key, "fields": fields})
            by_metric[key] = rows
    if not groups:
        return None
    names = (record.get("reference") or {}).get("class_names")
    names = names if isinstance(names, list) else []
    classes = sorted({c for rows in by_metric.values() for c in rows})
    body = [{"class": c, "name": formatting.text(names[c]) if 0 <= c < len(names) else None,
             "cells": [_cell(by_metric[g["key"]].get(c, {}).get(f)) for g in groups for f in g["fields"]]}
            for c in classes]
    return {"groups": groups, "rows": body, "named": bool(names), "open": len(body) <= OPEN_ROWS}
