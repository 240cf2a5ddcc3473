"""``genbench score``: a protocol's metrics for samples made elsewhere (a folder of images or an .npz)."""

from __future__ import annotations

import argparse

from genbench.cli.arguments import add_options, options_from_args
from genbench.evaluation.options import ScoreOptions

NAME = "score"
HELP = "compute a protocol's metrics for existing samples (image folder or .npz) and write a result file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_options(parser, ScoreOptions)


def handle(args: argparse.Namespace) -> int:
    from genbench.cli.report import format_result
    from genbench.evaluation.score import score_samples

    record = score_samples(options_from_args(ScoreOptions, args))
    print(format_result(record))
    print(f"result: {record['path']}")
    return 0
