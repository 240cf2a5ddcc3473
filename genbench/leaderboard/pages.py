"""What each page shows, as plain data for the templates: index, protocol pages, run pages, plots, exports.

Every string reaches HTML through jinja2's autoescaping or ``markupsafe.escape`` (the SVG plots),
so names from plugins, protocols and captions are shown as text, never run as markup.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from markupsafe import Markup

from genbench.leaderboard import formatting, plots
from genbench.leaderboard.artifacts import gallery_images, read_artifact
from genbench.leaderboard.classes import per_class_table
from genbench.leaderboard.explanations import explain
from genbench.leaderboard.grouping import ProtocolGroup, group_differences, is_reported, slug, unranked_reason
from genbench.leaderboard.intervals import indistinguishable
from genbench.leaderboard.tables import (CONTENDED, VIEWS, Column, MetricInfo, available_views, best_flags, cell_text,
                                         cell_value, display_frame, group_frame, group_metrics, model_label, raw_frame,
                                         to_csv, to_markdown, view_columns)
from genbench.storage.results import describe_load


def run_page(run_id: str) -> str:
    return f"runs/{slug(run_id)}.html"


def protocol_page(group: ProtocolGroup) -> str:
    return f"protocols/{group.slug}.html"


@dataclass
class GroupTables:
    """A group's frame and metrics, computed once and shared by its page, plots and exports."""

    group: ProtocolGroup
    metrics: list[MetricInfo]
    frame: pd.DataFrame

    @classmethod
    def of(cls, group: ProtocolGroup) -> "GroupTables":
        metrics = group_metrics(group)
        return cls(group, metrics, group_frame(group, metrics))

    def columns(self, view: str) -> list[Column]:
        return view_columns(view, self.frame, self.metrics)

    def views(self) -> list[str]:
        return available_views(self.frame, self.metrics)

    def markdown(self, views: list[str] | None = None) -> str:
        """The views (default: every view the group has data for) as Markdown sections."""
        return "\n".join(f"### {VIEWS[view][0]}\n\n{to_markdown(display_frame(self.frame, self.columns(view)))}"
                         for view in views or self.views())

    def csv(self, view: str) -> str:
        return to_csv(raw_frame(self.frame, self.columns(view)))


def sort_value(value: Any, numeric: bool) -> str:
    """The ``data-sort`` text sort.js compares: numbers as JavaScript's parseFloat reads them, "" for missing."""
    if value is None:
        return ""
    if not numeric:
        return str(value).lower()
    number = float(value)
    return "" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity") if math.isinf(number) else repr(number)


def html_table(tables: GroupTables, view: str, link_prefix: str) -> dict[str, Any]:
    """Header and rows of a view for the sortable table: text, sort key, best flag per cell."""
    frame, columns = tables.frame, tables.columns(view)
    flags = {c.key: best_flags(frame, c).tolist() for c in columns}
    headers = [{"label": c.label, "title": c.title, "numeric": c.numeric,
                "best": {True: "high", False: "low"}.get(c.higher_is_better, "")} for c in columns]
    ranked, reported = [], []
    for position, row in enumerate(frame.to_dict("records")):
        cells = []
        for column in columns:
            best = flags[column.key][position]
            css = " ".join(c for c, on in (("num", column.numeric), ("model", column.key == "label"), ("best", best)) if on)
            cells.append({"text": cell_text(row, column), "sort": sort_value(cell_value(row, column.key), column.numeric),
                          "best": best, "css": css, "key": column.key})
        entry = {"cells": cells, "href": f"{link_prefix}{run_page(row['run_id'])}", "source": row.get("source"),
                 "measured_as": cell_value(row, "measured_as"),
                 "unranked": None if row["reported"] else cell_value(row, "unranked_reason")}
        (reported if row["reported"] else ranked).append(entry)
    return {"headers": headers, "ranked": ranked, "reported": reported}


def speed_plots(tables: GroupTables, link_prefix: str) -> list[dict[str, Any]]:
    """Per metric: quality against seconds per image, Pareto front of the measured runs highlighted;
    reported rows and runs timed on a busy machine drawn apart, never on the front."""
    frame = tables.frame
    found = []
    for metric in tables.metrics:
        if metric.key not in frame or metric.higher_is_better is None:
            continue
        points: dict[str, list[plots.Point]] = {"measured": [], "reported": [], "contended": []}
        for _, r in frame.iterrows():
            if pd.notna(r.get("seconds_per_image")) and pd.notna(r[metric.key]):
                flag = r.get(CONTENDED)
                kind = "reported" if r["unranked"] else "contended" if pd.notna(flag) and flag else "measured"
                points[kind].append(plots.Point(float(r["seconds_per_image"]), float(r[metric.key]),
                                                r["label"], f"{link_prefix}{run_page(r['run_id'])}",
                                                *row_interval(r, metric.key)))
        title = f"{tables.group.name}: {metric.key} against seconds per image"
        svg = plots.speed_quality_plot(points["measured"], metric.label, metric.higher_is_better, title,
                                       points["reported"], points["contended"])
        if svg:
            found.append({"title": title, "svg": Markup(svg), "file": f"{tables.group.slug}.speed-{slug(metric.key)}.svg"})
    return found


def row_interval(row: Any, key: str) -> tuple[float | None, float | None]:
    """A frame row's interval of metric ``key`` as floats, (None, None) where it has none."""
    low, high = row.get(f"{key}_low"), row.get(f"{key}_high")
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return None, None
    return float(low), float(high)


def _interval(metric: dict[str, Any]) -> tuple[float | None, float | None]:
    interval = metric.get("interval") or {}
    return (interval.get("low"), interval.get("high")) if interval else (None, None)


def _steps(value: Any) -> float | None:
    try:
        steps = float(value)
    except (TypeError, ValueError):
        return None
    return steps if steps > 0 and math.isfinite(steps) else None


def steps_plots(tables: GroupTables, link_prefix: str) -> list[dict[str, Any]]:
    """Per metric: quality against ``steps`` for runs of one plugin and checkpoint with other settings equal."""
    series: dict[str, dict[str, list[tuple[float, float, str]]]] = {}
    for record in tables.group.measured:
        settings = dict((record.get("plugin") or {}).get("settings") or {})
        steps = _steps(settings.pop("steps", None))
        if steps is None:
            continue
        plugin = record["plugin"]
        checkpoint = (plugin.get("checkpoint_sha256") or plugin.get("checkpoint") or "")[:12]
        other = ", ".join(f"{k}={v}" for k, v in sorted(settings.items()))
        label = f"{plugin['name']} {checkpoint}" + (f" ({other})" if other else "")
        for key, metric in (record.get("metrics") or {}).items():
            if isinstance(metric.get("value"), (int, float)) and math.isfinite(metric["value"]):
                series.setdefault(key, {}).setdefault(label, []).append(
                    (steps, float(metric["value"]), f"{link_prefix}{run_page(record['run_id'])}", *_interval(metric)))
    found = []
    for metric in tables.metrics:
        lines = [plots.Series(label, tuple(plots.Point(x, y, label, href, low, high)
                                           for x, y, href, low, high in sorted(points, key=lambda p: p[:3])))
                 for label, points in sorted(series.get(metric.key, {}).items())
                 if len({p[0] for p in points}) >= 2]
        if lines:
            title = f"{tables.group.name}: {metric.key} against sampling steps"
            found.append({"title": title, "svg": Markup(plots.steps_plot(lines, metric.label, title)),
                          "file": f"{tables.group.slug}.steps-{slug(metric.key)}.svg"})
    return found


def related_groups(group: ProtocolGroup, groups: list[ProtocolGroup]) -> list[dict[str, Any]]:
    """The other fingerprints of the same protocol name, each with the definition keys that differ."""
    return [{"group": other, "href": f"../{protocol_page(other)}", "changes": group_differences(group, other)}
            for other in groups if other.name == group.name and other is not group]


def not_distinguishable(tables: GroupTables, link_prefix: str) -> list[dict[str, Any]]:
    """Per metric with intervals: the pairs of measured runs whose 95 % intervals overlap, with their pages."""
    def run(row: dict[str, Any]) -> dict[str, str]:
        return {"label": row["label"], "href": f"{link_prefix}{run_page(row['run_id'])}"}

    return [{"metric": item["metric"], "runs": item["runs"], "pairs": [(run(a), run(b)) for a, b in item["pairs"]]}
            for item in indistinguishable(tables.frame.to_dict("records"), tables.metrics)]


def best_per_metric(tables: GroupTables) -> list[dict[str, Any]]:
    """For the index: the ranked run holding the best value of each metric."""
    frame = tables.frame[~tables.frame["reported"]]
    best = []
    for metric in tables.metrics:
        if metric.higher_is_better is None or metric.key not in frame:
            continue
        values = pd.to_numeric(frame[metric.key], errors="coerce").dropna()
        if values.empty:
            continue
        index = values.idxmax() if metric.higher_is_better else values.idxmin()
        best.append({"metric": metric.label, "model": frame.at[index, "label"],
                     "value": formatting.number(values[index]), "href": run_page(frame.at[index, "run_id"])})
    return best


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


#: An absolute local path (POSIX ``/a/b/c`` or Windows ``C:\\a\\b``) inside a string: its last part is kept.
LOCAL_PATH = re.compile(r"(?<![\w.:/\\])(?:/|[A-Za-z]:[\\/])(?:[^\s/\\\"']+[/\\])+(?P<name>[^\s/\\\"']+)")


def without_local_paths(value: Any) -> Any:
    """``value`` with every absolute local path in its strings cut to its last part: a published page names
    ``model.safetensors``, never the directories of the machine that ran it."""
    if isinstance(value, str):
        return LOCAL_PATH.sub(lambda m: m["name"], value)
    if isinstance(value, dict):
        return {key: without_local_paths(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_local_paths(item) for item in value]
    return value


def provenance(record: dict[str, Any]) -> list[tuple[str, str]]:
    """Where the numbers came from, as (label, text) pairs: command, versions, hardware, hashes, times."""
    plugin, protocol = record.get("plugin") or {}, record.get("protocol") or {}
    environment = record.get("environment") or {}
    hardware = environment.get("hardware") or {}
    items = [
        ("command", shlex.join(record["command"]) if record.get("command") else None),
        ("plugin", " ".join(str(part) for part in (plugin.get("name"), plugin.get("distribution"), plugin.get("version"))
                            if part)),
        ("checkpoint", plugin.get("checkpoint")),
        ("checkpoint SHA-256", plugin.get("checkpoint_sha256")),
        ("protocol", f"{protocol.get('name')} v{protocol.get('version')} from {protocol.get('source')}"
         if protocol.get("version") is not None else protocol.get("name")),
        ("fingerprint", protocol.get("fingerprint")),
        *[(f"extractor {name} weights SHA-256", info.get("weights_sha256"))
          for name, info in sorted((record.get("extractors") or {}).items())],
        ("device", hardware.get("device")), ("GPU", hardware.get("gpu")), ("CPU", hardware.get("cpu")),
        ("CPU cores", hardware.get("cpu_count")), ("torch threads", environment.get("threads")),
        ("Python", environment.get("python")), ("platform", environment.get("platform")),
        *[(name, version) for name, version in sorted((environment.get("libraries") or {}).items())],
        ("seed", (record.get("samples") or {}).get("seed")),
        ("started", record.get("started_at")), ("finished", record.get("finished_at")),
        ("duration", formatting.duration(record.get("duration_seconds")) if record.get("duration_seconds") else None),
    ]
    return [(label, str(value)) for label, value in items if value not in (None, "")]


@dataclass
class RunAssets:
    """Image files a run page shows: their bytes by site path, and what the template links."""

    copies: dict[str, bytes] = field(default_factory=dict)
    grid: str | None = None
    gallery: list[dict[str, Any]] = field(default_factory=list)


def run_assets(record: dict[str, Any], results_dir: Path | None) -> RunAssets:
    """The sample grid and gallery images that exist beside the result file, with their site paths."""
    assets = RunAssets()
    if results_dir is None:
        return assets
    artifacts = record.get("artifacts") or {}
    base = f"runs/{slug(record['run_id'])}.assets"
    grid = read_artifact(results_dir, artifacts.get("grid"))
    if grid is not None:
        assets.grid = f"{base}/grid{PurePosixPath(artifacts['grid']).suffix.lower()}"
        assets.copies[assets.grid] = grid
    for number, image in enumerate(gallery_images(artifacts.get("gallery"))):
        data = read_artifact(results_dir, image.name)
        if data is not None:
            target = f"{base}/gallery-{number:03d}{PurePosixPath(image.name).suffix.lower()}"
            assets.copies[target] = data
            assets.gallery.append({"caption": image.caption, "src": target})
    return assets


def gallery_comparison(tables: GroupTables, assets: dict[str, RunAssets], link_prefix: str) -> dict[str, Any] | None:
    """The prompt galleries of a group's measured runs side by side: one row per prompt, one column per run,
    in ranking order, so that models line up image for image (same prompts, same seeds)."""
    frame = tables.frame[~tables.frame["reported"]]
    runs = [(row["run_id"], row["label"]) for row in frame.to_dict("records") if assets[row["run_id"]].gallery]
    if not runs:
        return None
    prompts: dict[str, dict[str, list[str]]] = {}
    for run_id, _ in runs:
        for image in assets[run_id].gallery:
            prompts.setdefault(image["caption"] or "–", {}).setdefault(run_id, []).append(f"{link_prefix}{image['src']}")
    return {"runs": [{"label": label, "href": f"{link_prefix}{run_page(run_id)}"} for run_id, label in runs],
            "rows": [{"prompt": prompt, "cells": [by_run.get(run_id, []) for run_id, _ in runs]}
                     for prompt, by_run in prompts.items()]}


def metric_rows(record: dict[str, Any], order: list[str]) -> list[dict[str, Any]]:
    """Each metric of a run (in the group's ``order``) with spread or interval, direction, how it was computed,
    what the number means, histogram."""
    rows = []
    metrics = record.get("metrics") or {}
    for key in sorted(metrics, key=lambda k: (order.index(k) if k in order else len(order), k)):
        metric = metrics[key]
        extras = metric.get("extras") or {}
        histogram = extras.get("histogram") or {}
        svg = ""
        if isinstance(histogram, dict) and histogram.get("edges") and histogram.get("counts"):
            svg = plots.histogram_plot(histogram["edges"], histogram["counts"], key,
                                       f"{model_label(record)}: histogram of {key}")
        scalar_extras = {k: v for k, v in sorted(extras.items()) if isinstance(v, (int, float, str)) and k != "histogram"}
        interval = metric.get("interval") or {}
        rows.append({
            "key": key, "value": formatting.with_interval(metric.get("value"), metric.get("std"), interval.get("low"),
                                                          interval.get("high")),
            "explanation": explain(metric, (record.get("extractors") or {}).get(metric.get("extractor")) or {}),
            "direction": {True: "higher is better", False: "lower is better"}.get(metric.get("higher_is_better"), ""),
            "computed_by": (f"{metric['metric']} on {metric.get('extractor')}/{metric.get('feature')}"
                            if metric.get("extractor") else "as reported"),
            "settings": ", ".join(f"{k}={v}" for k, v in sorted((metric.get("settings") or {}).items())),
            "extras": [(k, formatting.number(v) if isinstance(v, (int, float)) else v) for k, v in scalar_extras.items()],
            "histogram": Markup(svg) if svg else None,
        })
    return rows


def training_summary(training: dict[str, Any]) -> str:
    """``10.5 s: 60 epochs, 1,380 steps, 0.175 s per epoch`` with only the parts the record has."""
    parts = [f"{formatting.integer(training[k])} {k}" for k in ("epochs", "steps") if training.get(k) is not None]
    if training.get("seconds_per_epoch") is not None:
        parts.append(f"{formatting.duration(training['seconds_per_epoch'])} per epoch")
    if training.get("seconds") is None:
        return ", ".join(parts)
    return f"{formatting.duration(training['seconds'])}" + (f": {', '.join(parts)}" if parts else "")


def reproduced_by(record: dict[str, Any], group: ProtocolGroup) -> list[tuple[str, str]]:
    """The provenance line naming the other runs of this run's identity, when there are any."""
    reproduction = group.reproductions.get(record["run_id"])
    if reproduction is None or reproduction.count == 1:
        return []
    return [("reproduced", f"{reproduction.describe()}: {', '.join(reproduction.run_ids[1:])}")]


def run_context(record: dict[str, Any], tables: GroupTables, assets: RunAssets) -> dict[str, Any]:
    """Everything the run page shows."""
    group = tables.group
    record = without_local_paths(record)
    speed = record.get("speed") or {}
    return {
        "record": record, "label": model_label(record), "reported": is_reported(record),
        "unranked": unranked_reason(record), "warnings": record.get("warnings") or [],
        "protocol_href": f"../{protocol_page(group)}", "group": group,
        "metrics": metric_rows(record, [m.key for m in tables.metrics]),
        "per_class": per_class_table(record),
        "speed": [(b, formatting.seconds(f.get("seconds_per_image")), formatting.rate(f.get("images_per_second")))
                  for b, f in sorted((speed.get("by_batch_size") or {}).items(),
                                     key=lambda item: int(item[0]) if str(item[0]).isdigit() else 0)],
        "nfe": speed.get("network_evaluations_per_image"),
        "contended": describe_load(speed.get("machine_load")) if speed.get("contended") else None,
        "parameters": record.get("parameters") or {},
        "training": training_summary(record.get("training") or {}),
        "provenance": provenance(record) + reproduced_by(record, group),
        "grid": f"../{assets.grid}" if assets.grid else None,
        "gallery": [{"caption": g["caption"], "src": f"../{g['src']}"} for g in assets.gallery],
        "record_json": _json(record),
        "formatting": formatting,
    }
