"""``genbench run``: evaluate a model plugin on a protocol and write one result file."""

from __future__ import annotations

import argparse

from genbench.cli.arguments import add_options, options_from_args

NAME = "run"
HELP = "evaluate a model plugin on a protocol and write one result file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from genbench.runner.options import RunOptions

    add_options(parser, RunOptions)


def handle(args: argparse.Namespace) -> int:
    from genbench.cli.report import format_result
    from genbench.runner import Runner, RunOptions

    record = Runner(options_from_args(RunOptions, args)).run()
    if record is None:  # a non-main rank under torchrun: the main rank reports
        return 0
    print(format_result(record))
    print(f"result: {record['path']}")
    return 0
