"""``genbench compare``: FID / KID / IS / precision-recall between two image folders, like torch-fidelity's CLI, or
FID (and sFID) between statistics files, as pytorch-fid computes it."""

from __future__ import annotations

import argparse
import json

from genbench.cli.arguments import add_options, options_from_args
from genbench.evaluation.options import CompareOptions

NAME = "compare"
HELP = ("metrics between two image folders (the first is the generated one), with torch-fidelity's key names; FID "
        "and sFID where either is a statistics file")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_options(parser, CompareOptions)
    parser.add_argument("--json", action="store_true", help="print one JSON object with torch-fidelity's key names")


def handle(args: argparse.Namespace) -> int:
    from genbench.evaluation.compare_statistics import compare

    values = compare(options_from_args(CompareOptions, args))
    if args.json:
        print(json.dumps(values, indent=2))
    else:
        for key, value in values.items():
            print(f"{key}: {value:.7g}")
    return 0
