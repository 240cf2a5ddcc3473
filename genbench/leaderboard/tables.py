"""A protocol group as a pandas table: one row per run, ranked, best values marked, exported as views.

The views are the tables a paper needs (seed 004's training cost, size and speed and quality
tables; seed 002's confidence comparison) and the full leaderboard. Reported rows are part of
every view, after the ranked rows, and never take part in ranking or best-value marking.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Callable

import pandas as pd

from genbench.leaderboard import formatting
from genbench.leaderboard.grouping import ProtocolGroup, is_reported, unranked_reason
from genbench.storage.results import flatten

#: Metric kinds in the order a reader expects them; other kinds follow by key. The ADM evaluator's five numbers
#: come first, in the column order of the papers that report them (FID, sFID, IS, Prec., Rec.).
METRIC_KIND_ORDER = ("adm_fid", "sfid", "adm_isc", "adm_precision", "adm_recall",
                     "fid", "fd", "fid_infinity", "kid", "cmmd", "isc", "precision", "recall", "density", "coverage",
                     "clip_score", "classifier_confidence", "caption_diversity", "vendi")


@dataclass(frozen=True)
class MetricInfo:
    """One metric of a group: its key in the records, kind, direction and where it was computed."""

    key: str
    kind: str | None
    higher_is_better: bool | None
    computed_by: str

    @property
    def label(self) -> str:
        arrow = {True: " ↑", False: " ↓"}.get(self.higher_is_better, "")
        return f"{self.key}{arrow}"


@dataclass(frozen=True)
class Column:
    """A table column: frame key, header, how to print a value, and which direction is best (None: no best)."""

    key: str
    label: str
    display: Callable[[Any], str] = formatting.number
    higher_is_better: bool | None = None
    std_key: str | None = None
    title: str = ""
    numeric: bool = True
    #: Frame keys of the column's interval bounds (metrics with a bootstrap interval).
    interval_keys: tuple[str, str] | None = None
    #: a frame key that, when true for a row, marks its value as not comparable (timed on a busy machine)
    flag_key: str | None = None


def group_metrics(group: ProtocolGroup) -> list[MetricInfo]:
    """The group's metrics, direction taken from measured records first (reported rows may not state it)."""
    found: dict[str, MetricInfo] = {}
    for record in group.measured + group.reported:
        for key, metric in sorted((record.get("metrics") or {}).items()):
            known = found.get(key)
            if known is None or (known.higher_is_better is None and metric.get("higher_is_better") is not None):
                computed_by = (f"{metric['metric']} on {metric.get('extractor')}/{metric.get('feature')}"
                               if metric.get("extractor") else "as reported")
                found[key] = MetricInfo(key, metric.get("metric") or (known.kind if known else None),
                                        metric.get("higher_is_better"), computed_by)
    order = {kind: i for i, kind in enumerate(METRIC_KIND_ORDER)}
    return sorted(found.values(), key=lambda m: (order.get(m.kind, len(order)), m.key))


def model_label(record: dict[str, Any]) -> str:
    """What a reader recognises a run by: the published model it evaluated (its config's ``source``: a hub id or
    folder name) or else the plugin, then the sampling settings that differ from the model's own defaults (every
    setting in records older than ``default_settings``), e.g. ``ddim (steps=20)``; samples scored by ``genbench
    score`` are named by their folder or file, e.g. ``external (samples.npz)``."""
    plugin = record["plugin"]
    settings = dict(plugin.get("settings") or {})
    defaults = plugin.get("default_settings")
    if isinstance(defaults, dict):
        settings = {k: v for k, v in settings.items() if k not in defaults or defaults[k] != v}
    source = (record.get("samples") or {}).get("source")
    described = [f"{k}={v}" for k, v in sorted(settings.items())] + ([PurePath(source).name] if source else [])
    config = plugin.get("config")
    published = config.get("source") if isinstance(config, dict) else None
    name = published if isinstance(published, str) and published else plugin["name"]
    return f"{name} ({', '.join(described)})" if described else name


def _speed_at(record: dict[str, Any], pick: Callable) -> tuple[int | None, dict[str, Any]]:
    by_batch = (record.get("speed") or {}).get("by_batch_size") or {}
    if not by_batch:
        return None, {}
    batch = pick(by_batch, key=lambda b: int(b) if str(b).isdigit() else 0)
    return (int(batch) if str(batch).isdigit() else None), by_batch[batch]


def leaderboard_row(record: dict[str, Any]) -> dict[str, Any]:
    """``results.flatten`` plus what the pages show: label, short checkpoint, latency and throughput, date."""
    row = flatten(record)
    latency_batch, latency = _speed_at(record, min)
    throughput_batch, throughput = _speed_at(record, max)
    reported = record.get("reported") or {}
    row.update({
        "label": model_label(record),
        "checkpoint_short": (row.get("checkpoint_sha256") or "")[:12] or (record["plugin"].get("checkpoint") or ""),
        "seconds_per_image": latency.get("seconds_per_image"),
        "latency_batch": latency_batch,
        "images_per_second": throughput.get("images_per_second"),
        "throughput_batch": throughput_batch,
        "date": (record.get("finished_at") or "")[:10],
        "source": reported.get("source"),
        "measured_as": reported.get("measured_as"),
    })
    for key, metric in (record.get("metrics") or {}).items():
        extras = metric.get("extras") or {}
        if "share_above_threshold" in extras:
            row[f"{key}_share"] = extras["share_above_threshold"]
            row[f"{key}_threshold"] = extras.get("threshold")
    return row


def group_frame(group: ProtocolGroup, metrics: list[MetricInfo] | None = None) -> pd.DataFrame:
    """All rows of a group: measured rows ranked by the first metric (best first), then reported rows."""
    metrics = group_metrics(group) if metrics is None else metrics
    frame = pd.DataFrame([leaderboard_row(r) for r in group.records])
    frame["reported"] = [is_reported(r) for r in group.records]
    frame["unranked_reason"] = [unranked_reason(r) for r in group.records]
    frame["unranked"] = frame["unranked_reason"].notna()
    frame["runs"] = [group.reproductions[r["run_id"]].describe() if r["run_id"] in group.reproductions else None
                     for r in group.records]
    frame["rank"] = pd.Series([pd.NA] * len(frame), dtype="Int64")
    primary = metrics[0] if metrics else None
    measured = ~frame["unranked"]
    if primary is not None and primary.key in frame:
        values = pd.to_numeric(frame[primary.key], errors="coerce")
        ranks = values[measured].rank(method="min", ascending=not primary.higher_is_better)
        frame.loc[ranks.index, "rank"] = ranks.astype("Int64")
    # measured rows by rank, then label; reported rows in the order their file lists them (by run id)
    order_key = frame["rank"].astype("Float64").fillna(math.inf)
    label_key = frame["label"].where(measured, "")
    frame = frame.assign(_reported=frame["reported"], _order=order_key, _label=label_key)
    frame = frame.sort_values(["_reported", "_order", "_label", "run_id"], kind="mergesort")
    return with_slowdown(frame.drop(columns=["_reported", "_order", "_label"]).reset_index(drop=True))


def best_flags(frame: pd.DataFrame, column: Column) -> pd.Series:
    """True where a measured row holds the column's best value (ties all marked); reported rows never."""
    flags = pd.Series(False, index=frame.index)
    if column.higher_is_better is None or column.key not in frame:
        return flags
    values = pd.to_numeric(frame[column.key], errors="coerce").where(~frame["unranked"])
    if values.notna().sum() == 0:
        return flags
    best = values.max() if column.higher_is_better else values.min()
    return values == best


def _batch_note(frame: pd.DataFrame, key: str) -> str:
    batches = sorted({int(b) for b in frame.loc[~frame["reported"], key].dropna()})
    return f" (batch {batches[0]})" if len(batches) == 1 else ""


def _model_column() -> Column:
    return Column("label", "model", formatting.text, numeric=False)


def metric_columns(metrics: list[MetricInfo]) -> list[Column]:
    return [Column(m.key, m.label, formatting.number, m.higher_is_better, f"{m.key}_std", m.computed_by,
                   interval_keys=(f"{m.key}_low", f"{m.key}_high")) for m in metrics]


#: Frame key of the flag on timings measured while other work competed for the machine.
CONTENDED = "speed_contended"
CONTENDED_NOTE = " (contended)"


def speed_columns(frame: pd.DataFrame) -> list[Column]:
    return [
        Column("seconds_per_image", f"s/image{_batch_note(frame, 'latency_batch')}", formatting.seconds, False,
               title="seconds per image at the smallest timed batch size", flag_key=CONTENDED),
        Column("images_per_second", f"images/s{_batch_note(frame, 'throughput_batch')}", formatting.rate, True,
               title="images per second at the largest timed batch size", flag_key=CONTENDED),
        Column("network_evaluations_per_image", "NFE/image", formatting.integer, False,
               title="network evaluations per image"),
    ]


def parameter_columns() -> list[Column]:
    return [Column("parameters_all", "parameters", formatting.count, title="all parameters"),
            Column("parameters_trainable", "trained", formatting.count, title="trainable parameters")]


def leaderboard_columns(frame: pd.DataFrame, metrics: list[MetricInfo]) -> list[Column]:
    """The full leaderboard: identity, metrics with spread, speed, size, cost, device, date."""
    return [
        Column("rank", "#", formatting.integer, title="rank by the first metric"),
        _model_column(),
        Column("plugin_version", "version", formatting.text, numeric=False, title="plugin distribution version"),
        Column("checkpoint_short", "checkpoint", formatting.text, numeric=False, title="checkpoint SHA-256 (first 12)"),
        *metric_columns(metrics),
        *speed_columns(frame),
        *parameter_columns(),
        Column("training_seconds", "training", formatting.duration, False, title="training wall time"),
        Column("device", "device", formatting.text, numeric=False),
        Column("runs", "runs", formatting.text, numeric=False,
               title="runs of this identity (fingerprint, plugin, checkpoint, settings, seed) and whether they agree"),
        Column("date", "date", formatting.text, numeric=False, title="when the run finished (UTC)"),
    ]


def training_columns(frame: pd.DataFrame, metrics: list[MetricInfo]) -> list[Column]:
    """Seed 004's training cost table."""
    return [_model_column(),
            Column("training_seconds_per_epoch", "time/epoch", formatting.duration, False),
            Column("training_epochs", "epochs", formatting.integer), Column("training_steps", "steps", formatting.integer),
            Column("training_batch_size", "batch size", formatting.integer),
            Column("training_seconds", "total", formatting.duration, False),
            Column("device", "device", formatting.text, numeric=False)]


def size_speed_columns(frame: pd.DataFrame, metrics: list[MetricInfo]) -> list[Column]:
    """Seed 004's size and speed table."""
    return [_model_column(), *parameter_columns(), *speed_columns(frame),
            Column("device", "device", formatting.text, numeric=False)]


def quality_columns(frame: pd.DataFrame, metrics: list[MetricInfo]) -> list[Column]:
    """Seed 004's quality table: every metric with its spread (reported rows, e.g. real images, below)."""
    return [_model_column(), *metric_columns(metrics)]


def comparison_columns(frame: pd.DataFrame, metrics: list[MetricInfo]) -> list[Column]:
    """Seed 002's comparison: classifier confidence, share above the threshold, time, times slower."""
    columns = [_model_column()]
    for metric in metrics:
        if metric.kind == "classifier_confidence":
            threshold = frame.get(f"{metric.key}_threshold", pd.Series(dtype=float)).dropna()
            above = f" > {formatting.number(float(threshold.iloc[0]))}" if len(threshold) else ""
            columns += [Column(metric.key, f"mean {metric.key} ↑", formatting.number, True, f"{metric.key}_std"),
                        Column(f"{metric.key}_share", f"share{above} ↑", formatting.number, True)]
    return columns + [Column("seconds_per_image", f"s/image{_batch_note(frame, 'latency_batch')}",
                             formatting.seconds, False, flag_key=CONTENDED),
                      Column("slowdown", "× time of fastest", formatting.number, False)]


def _has_any(frame: pd.DataFrame, keys: list[str]) -> bool:
    return any(key in frame and frame[key].notna().any() for key in keys)


#: Table views: name -> (title, columns, whether the group has what the view needs).
VIEWS: dict[str, tuple[str, Callable[[pd.DataFrame, list[MetricInfo]], list[Column]],
                       Callable[[pd.DataFrame, list[MetricInfo]], bool]]] = {
    "leaderboard": ("Leaderboard", leaderboard_columns, lambda f, m: True),
    "quality": ("Quality", quality_columns, lambda f, m: bool(m)),
    "size-speed": ("Size and speed", size_speed_columns,
                   lambda f, m: _has_any(f, ["parameters_all", "seconds_per_image"])),
    "training": ("Training cost", training_columns,
                 lambda f, m: _has_any(f, ["training_seconds", "training_epochs"])),
    "comparison": ("Confidence comparison (seed 002)", comparison_columns,
                   lambda f, m: any(x.kind == "classifier_confidence" for x in m)),
}


def with_slowdown(frame: pd.DataFrame) -> pd.DataFrame:
    """Adds ``slowdown``: seconds per image over the fastest measured row's."""
    fastest = pd.to_numeric(frame.loc[~frame["reported"], "seconds_per_image"], errors="coerce").min() \
        if "seconds_per_image" in frame else math.nan
    seconds = pd.to_numeric(frame.get("seconds_per_image", pd.Series(index=frame.index, dtype=float)),
                            errors="coerce")
    return frame.assign(slowdown=seconds / fastest if fastest and fastest > 0 else math.nan)


def available_views(frame: pd.DataFrame, metrics: list[MetricInfo]) -> list[str]:
    return [name for name, (_, _, applies) in VIEWS.items() if applies(frame, metrics)]


def view_columns(view: str, frame: pd.DataFrame, metrics: list[MetricInfo]) -> list[Column]:
    return VIEWS[view][1](frame, metrics)


def cell_value(row: dict[str, Any], key: str | None) -> Any:
    """A value of ``frame.to_dict("records")``, with pandas' missing markers (NA, NaN) as None."""
    value = row.get(key) if key else None
    return None if value is pd.NA or (isinstance(value, float) and math.isnan(value)) else value


def cell_text(row: dict[str, Any], column: Column) -> str:
    """A cell as printed: the value with its interval (``value [low, high]``) or spread where it has one."""
    value = cell_value(row, column.key)
    if column.interval_keys and value is not None:
        low, high = (cell_value(row, key) for key in column.interval_keys)
        return formatting.with_interval(value, cell_value(row, column.std_key), low, high)
    if column.std_key and value is not None:
        return formatting.with_spread(value, cell_value(row, column.std_key))
    flagged = value is not None and column.flag_key is not None and bool(cell_value(row, column.flag_key))
    return column.display(value) + (CONTENDED_NOTE if flagged else "")


def display_frame(frame: pd.DataFrame, columns: list[Column]) -> pd.DataFrame:
    """The view as printed text (values with spread), reported rows labelled: for Markdown."""
    rows = []
    for row in frame.to_dict("records"):
        texts = {column.label: cell_text(row, column) for column in columns}
        if row["unranked"]:
            texts["model"] = f"{texts['model']} ({row['unranked_reason']})"
        rows.append(texts)
    return pd.DataFrame(rows, columns=[c.label for c in columns])


def raw_frame(frame: pd.DataFrame, columns: list[Column]) -> pd.DataFrame:
    """The view as numbers (spread and interval bounds in their own columns) with the run's identity: for CSV."""
    keys = ["protocol", "fingerprint", "run_id", "status"]
    for column in columns:
        keys.append(column.key)
        keys.extend(key for key in (column.std_key, column.flag_key) if key)
        if column.interval_keys and any(key in frame for key in column.interval_keys):
            keys.extend(column.interval_keys)
    keys = list(dict.fromkeys(keys))
    return frame.reindex(columns=keys).rename(columns={"label": "model"})


def markdown_text(value: Any) -> str:
    """Text as one Markdown table cell or heading: line breaks become spaces, pipes are escaped, and
    ``<`` and ``&`` become entities (a plugin name can neither split a row nor open a tag)."""
    text = " ".join(str(value).splitlines())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace("|", "\\|")


def to_markdown(frame: pd.DataFrame) -> str:
    escaped = frame.rename(columns=markdown_text).map(markdown_text)
    return escaped.to_markdown(index=False, disable_numparse=True) + "\n"


#: First characters that make a spreadsheet read a cell as a formula (OWASP's CSV injection list).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(text: str) -> str:
    """A text cell a spreadsheet shows as text: a formula-leading character gets a ``'`` in front."""
    return f"'{text}" if text.startswith(FORMULA_LEADS) else text


def csv_cell(value: Any) -> str:
    """One CSV field: numbers as Python writes them, missing values empty, text made spreadsheet-safe."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return spreadsheet_text(value) if isinstance(value, str) else str(value)


def to_csv(frame: pd.DataFrame) -> str:
    """The frame as CSV through the csv module (quoting commas, quotes and line breaks inside fields)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([spreadsheet_text(str(c)) for c in frame.columns])
    writer.writerows([csv_cell(v) for v in row] for row in frame.itertuples(index=False, name=None))
    return buffer.getvalue()
