"""``genbench show``: print a result file as a table (or as JSON)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "show"
HELP = "print a result file as a table"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("result", type=Path, help="a result .json file")
    parser.add_argument("--json", action="store_true", help="print the full record as JSON")


def handle(args: argparse.Namespace) -> int:
    from genbench.cli.report import format_result
    from genbench.storage.results import read_result

    record = read_result(args.result)
    print(json.dumps(record, indent=2, sort_keys=True) if args.json else format_result(record))
    return 0
