"""Build the static site: result files + reported rows -> index, protocol pages, run pages, plots, exports.

Output is deterministic (sorted iteration, no build time anywhere), each file is written atomically,
and the build is incremental: a file is rewritten only when its bytes change, and files a previous
build wrote that this one no longer produces are removed (the manifest ``.leaderboard-manifest.json``
lists them), as are the temp files of a build that was killed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined

from genbench import __version__
from genbench.errors import ResultsError
from genbench.leaderboard import pages
from genbench.leaderboard.grouping import ProtocolGroup, group_records
from genbench.leaderboard.links import http_url
from genbench.leaderboard.reported import read_reported_dir
from genbench.leaderboard.tables import markdown_text, raw_frame, to_csv
from genbench.registry import get_registry
from genbench.storage.files import atomic_path, atomic_write_text
from genbench.storage.housekeeping import TEMP_NAME
from genbench.storage.locks import exclusive
from genbench.storage.results import scan_result_files

MANIFEST = ".leaderboard-manifest.json"
#: Held while a build writes, so that concurrent builds into one directory take turns.
LOCK = ".leaderboard-build.lock"
STATIC_FILES = ("style.css", "sort.js")


@dataclass(frozen=True)
class Unreadable:
    """A result file left out of the site, and why (one line)."""

    path: Path
    reason: str

    @property
    def public_reason(self) -> str:
        """The reason with the file's local directory left out: what the published index page shows."""
        return self.reason.replace(str(self.path), self.path.name)


@dataclass(frozen=True)
class BuildSummary:
    """What a build did: counts for the command's one-line report, and the files it could not read."""

    out_dir: Path
    protocols: int
    runs: int
    reported: int
    written: int
    unchanged: int
    removed: int
    unreadable: tuple[Unreadable, ...] = ()


@dataclass
class LoadedRecords:
    """Measured records (with the directory each lies in), reported rows, and the result files left out."""

    records: list[dict[str, Any]]
    where: dict[str, Path]
    unreadable: list[Unreadable]


def load_records(results_dir: Path | None, reported_dir: Path | None) -> LoadedRecords:
    """Every readable measured record and every reported row; a result file that cannot be read or placed
    (bad JSON, wrong fields, no identity, a run id seen before) is left out and listed, never fatal."""
    loaded = LoadedRecords([], {}, [])
    origins: dict[str, str] = {}
    metrics = get_registry().metrics  # a value outside its metric's range is never shown, whoever wrote it

    def problem(record: dict[str, Any], origin: str) -> str | None:
        for section, key in ((None, "run_id"), ("protocol", "name"), ("plugin", "name")):
            table = record.get(section) if section else record
            if not isinstance(table, dict) or not isinstance(table.get(key), str):
                return (f"result {origin} has no {f'{section}.' if section else ''}{key}: "
                        "not a record the leaderboard can place")
        if record["run_id"] in origins:
            return f"run id {record['run_id']} appears twice: in {origins[record['run_id']]} and {origin}"
        for key, metric in (record.get("metrics") or {}).items():
            spec = metrics.get(metric.get("metric"))
            problem = spec.item.value_problem(metric.get("value")) if spec else None
            if problem:
                return f"result file {origin}: field 'metrics.{key}.value' {problem}"
        origins[record["run_id"]] = origin
        return None

    readable, unreadable = scan_result_files(results_dir) if results_dir is not None else ([], [])
    loaded.unreadable.extend(Unreadable(path, reason) for path, reason in unreadable)
    for path, record in readable:
        reason = problem(record, str(path))
        if reason is not None:
            loaded.unreadable.append(Unreadable(path, reason))
            continue
        loaded.records.append(record)
        loaded.where[record["run_id"]] = path.parent
    for record in read_reported_dir(reported_dir):
        reason = problem(record, "the reported rows")
        if reason is not None:
            raise ResultsError(reason)
        loaded.records.append(record)
    loaded.unreadable.sort(key=lambda u: u.path)
    return loaded


def template_environment() -> Environment:
    """jinja2 with autoescaping on for every template: names from plugins and captions are text, and outside
    links pass ``http_url``."""
    env = Environment(loader=PackageLoader("genbench.leaderboard", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["http_url"] = http_url  # every outside link goes through it; anything else is not linked
    return env


class SiteWriter:
    """Collects the site's files, then writes only those whose bytes changed and removes stale ones."""

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self.files: dict[str, bytes] = {}

    def add(self, relative: str, content: str | bytes) -> None:
        self.files[relative] = content.encode("utf-8") if isinstance(content, str) else content

    def _previous(self) -> list[str]:
        try:
            listed = json.loads((self.out_dir / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [p for p in listed if isinstance(p, str) and not PurePosixPath(p).is_absolute()
                and ".." not in PurePosixPath(p).parts]

    def commit(self) -> tuple[int, int, int]:
        """Write the collected files; returns (written, unchanged, removed). Builds into one directory take turns
        (a lock file beside the manifest), so one never removes the temp files of another that is still writing."""
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            with exclusive(self.out_dir / LOCK):
                return self._commit()
        except OSError as exc:
            raise ResultsError(f"cannot write the leaderboard to {self.out_dir}: {exc.strerror or exc}") from None

    def _commit(self) -> tuple[int, int, int]:
        written = unchanged = removed = 0
        for relative in sorted(self.files):
            data = self.files[relative]
            target = self.out_dir / relative
            if target.is_file() and target.read_bytes() == data:
                unchanged += 1
                continue
            with atomic_path(target) as tmp:  # a page is old or new, never half of either
                tmp.write_bytes(data)
            written += 1
        for relative in sorted(set(self._previous()) - set(self.files)):
            stale = self.out_dir / relative
            if stale.is_file():
                stale.unlink()
                removed += 1
        atomic_write_text(self.out_dir / MANIFEST, json.dumps(sorted(self.files), indent=0) + "\n")
        for leftover in (p for p in self.out_dir.rglob(".*.tmp") if TEMP_NAME.match(p.name) and p.is_file()):
            leftover.unlink()  # temp files of a build that was killed (one site is built by one build at a time)
        return written, unchanged, removed


def render_group(env: Environment, group: ProtocolGroup, groups: list[ProtocolGroup], where: dict[str, Path],
                 writer: SiteWriter) -> dict[str, Any]:
    """A protocol group's page, exports, plots and run pages; returns its row of the index."""
    common = {"genbench_version": __version__, "root": "../"}
    tables = pages.GroupTables.of(group)
    page = pages.protocol_page(group)
    stem = page[: -len(".html")]
    name = Path(stem).name
    writer.add(f"{stem}.md", f"## {markdown_text(group.heading)}\n\n{tables.markdown()}")
    downloads = [{"label": "Markdown (all tables)", "href": f"{name}.md"}]
    paper_tables = []
    for view in tables.views():
        writer.add(f"{stem}.{view}.csv", tables.csv(view))
        title = pages.VIEWS[view][0]
        downloads.append({"label": f"CSV: {title}", "href": f"{name}.{view}.csv"})
        paper_tables.append({"title": title, "markdown": tables.markdown([view]).split("\n\n", 1)[1],
                             "csv": f"{name}.{view}.csv"})
    figures = pages.speed_plots(tables, "../") + pages.steps_plots(tables, "../")
    for figure in figures:
        writer.add(f"plots/{figure['file']}", str(figure["svg"]) + "\n")
    assets = {r["run_id"]: pages.run_assets(r, where.get(r["run_id"])) for r in group.records}
    writer.add(page, env.get_template("protocol.html").render(
        group=group, table=pages.html_table(tables, "leaderboard", "../"), downloads=downloads,
        paper_tables=paper_tables, plots=figures, related=pages.related_groups(group, groups),
        gallery=pages.gallery_comparison(tables, assets, "../"),
        not_distinguishable=pages.not_distinguishable(tables, "../"),
        definition=json.dumps(group.definition, indent=2, sort_keys=True) if group.definition else None, **common))
    for record in group.records:
        run_assets = assets[record["run_id"]]
        for target, data in run_assets.copies.items():
            writer.add(target, data)
        writer.add(pages.run_page(record["run_id"]), env.get_template("run.html").render(
            **pages.run_context(record, tables, run_assets), **common))
    return {"group": group, "href": page, "best": pages.best_per_metric(tables)}


def render_site(groups: list[ProtocolGroup], where: dict[str, Path], writer: SiteWriter,
                unreadable: list[Unreadable] | None = None) -> None:
    """Every page, plot, export, copied image and static file of the site, added to ``writer``; the index
    lists the result files that were left out."""
    env = template_environment()
    static_dir = Path(__file__).parent / "static"
    for name in STATIC_FILES:
        writer.add(f"static/{name}", (static_dir / name).read_bytes())
    rows = []
    for group in groups:
        row = render_group(env, group, groups, where, writer)
        row["primary"] = not rows or rows[-1]["group"].name != group.name
        rows.append(row)
    writer.add("index.html", env.get_template("index.html").render(
        root="", rows=rows, unreadable=unreadable or [], genbench_version=__version__))


def _nothing_readable(results_dir: Path | None, loaded: LoadedRecords) -> ResultsError:
    if loaded.unreadable:
        first = loaded.unreadable[0].reason
        return ResultsError(f"none of the {len(loaded.unreadable)} result file(s) in {results_dir} can be read "
                            f"(first: {first})")
    return ResultsError(f"no result files in {results_dir} and no reported rows: nothing to build")


def build_leaderboard(results_dir: Path | None, out_dir: Path, reported_dir: Path | None = None) -> BuildSummary:
    """Build the site under ``out_dir`` from ``results_dir`` and the reported rows in ``reported_dir``."""
    loaded = load_records(results_dir, reported_dir)
    if not loaded.records:
        raise _nothing_readable(results_dir, loaded)
    groups = group_records(loaded.records)
    writer = SiteWriter(out_dir)
    render_site(groups, loaded.where, writer, loaded.unreadable)
    written, unchanged, removed = writer.commit()
    reported = sum(len(g.reported) for g in groups)
    return BuildSummary(Path(out_dir), len(groups), len(loaded.records) - reported, reported, written, unchanged,
                        removed, tuple(loaded.unreadable))


def export_tables(results_dir: Path | None, reported_dir: Path | None, fmt: str, view: str | None = None,
                  protocol: str | None = None) -> str:
    """The tables for papers as Markdown (every group, every view or one) or CSV (one view, all groups)."""
    return tables_text(load_records(results_dir, reported_dir), results_dir, fmt, view, protocol)


def tables_text(loaded: LoadedRecords, results_dir: Path | None, fmt: str, view: str | None = None,
                protocol: str | None = None) -> str:
    """``export_tables`` of records already loaded (the caller reports the files left out)."""
    if not loaded.records:
        raise _nothing_readable(results_dir, loaded)
    groups = [g for g in group_records(loaded.records) if protocol is None or g.name == protocol]
    if not groups:
        raise ResultsError(f"no results for protocol '{protocol}'" if protocol else f"no results in {results_dir}")
    all_tables = [pages.GroupTables.of(g) for g in groups]
    if view is not None and not any(view in t.views() for t in all_tables):
        raise ResultsError(f"no protocol here has the data for table '{view}'")
    if fmt == "csv":
        view = view or "leaderboard"
        frames = [raw_frame(t.frame, t.columns(view)) for t in all_tables if view in t.views()]
        return to_csv(pd.concat(frames, ignore_index=True, sort=False))
    parts = []
    for tables in all_tables:
        group = tables.group
        views = [v for v in ([view] if view else tables.views()) if v in tables.views()]
        if views:
            parts.append(f"## {markdown_text(group.heading)}\n\n{tables.markdown(views)}")
    return "\n".join(parts)
