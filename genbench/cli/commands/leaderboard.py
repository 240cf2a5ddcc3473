"""``genbench leaderboard``: build the static leaderboard site, or print its tables as Markdown or CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "leaderboard"
HELP = "build the static leaderboard site from result files, or print its tables (Markdown, CSV)"
#: The table names of ``genbench.leaderboard.tables.VIEWS``, listed here so that --help needs no pandas import.
VIEWS = ("leaderboard", "quality", "size-speed", "training", "comparison")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results-dir", type=Path, default=Path("results"),
                        help="directory of result files (default: results)")
    parser.add_argument("--out", type=Path, default=Path("leaderboards"),
                        help="where the site is written (default: leaderboards)")
    parser.add_argument("--reported-dir", type=Path,
                        help="directory of reported-numbers *.toml files (default: OUT/reported when it exists)")
    parser.add_argument("--format", choices=("html", "md", "csv"), default="html",
                        help="html: write the site; md / csv: print the tables for papers instead (default: html)")
    parser.add_argument("--table", choices=VIEWS,
                        help="with --format md/csv: only this table (csv default: leaderboard)")
    parser.add_argument("--protocol", help="with --format md/csv: only this protocol name")
    parser.add_argument("--strict", action="store_true",
                        help="exit with an error when any result file cannot be read (it is left out either way)")


def handle(args: argparse.Namespace) -> int:
    from genbench.errors import ResultsError, notice
    from genbench.leaderboard import build_leaderboard, load_records, tables_text

    reported_dir = args.reported_dir if args.reported_dir is not None else args.out / "reported"
    if args.format != "html":
        loaded = load_records(args.results_dir, reported_dir)
        unreadable = loaded.unreadable
        text = tables_text(loaded, args.results_dir, args.format, args.table, args.protocol)
    else:
        summary = build_leaderboard(args.results_dir, args.out, reported_dir)
        unreadable = list(summary.unreadable)
    for skipped in unreadable:
        notice(f"left out: {skipped.reason}")
    if args.format != "html":
        print(text, end="")
    else:
        print(f"genbench: leaderboard of {summary.protocols} protocol fingerprint(s), {summary.runs} run(s) and "
              f"{summary.reported} reported row(s) in {summary.out_dir / 'index.html'} ({summary.written} file(s) "
              f"written, {summary.unchanged} unchanged, {summary.removed} removed"
              + (f", {len(unreadable)} unreadable result file(s) left out)" if unreadable else ")"))
    if unreadable and args.strict:
        raise ResultsError(f"{len(unreadable)} result file(s) could not be read (--strict)")
    return 0
