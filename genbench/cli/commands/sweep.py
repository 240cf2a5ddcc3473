"""``genbench sweep``: one result per combination of comma-separated ``--set`` values (one training)."""

from __future__ import annotations

import argparse

from genbench.cli.arguments import options_from_args
from genbench.cli.commands.run import add_arguments as add_run_arguments

NAME = "sweep"
HELP = "run a plugin once per setting value (--set steps=10,20,50,100), writing one result each"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser)


def handle(args: argparse.Namespace) -> int:
    from genbench.runner.options import RunOptions
    from genbench.runner.sweep import sweep, sweep_table

    runs = []
    for settings, record in sweep(options_from_args(RunOptions, args)):
        runs.append((settings, record))
        if not args.quiet:
            print(f"genbench: {', '.join(f'{k}={v}' for k, v in settings.items())} -> {record['path']}")
    print(sweep_table(runs))
    return 0
