"""``genbench reference``: a protocol's metrics for its own real reference images (FID of halves, IS, CLIP score),
or the reference set's content identity (``--print-identity``), caption selection (``--export-selection``) and
feature statistics (``--export-stats``)."""

from __future__ import annotations

import argparse

from genbench.cli.arguments import add_options, options_from_args
from genbench.evaluation.options import ReferenceOptions

NAME = "reference"
HELP = "score the protocol's real reference images (two-set metrics on seeded halves) and write a result"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_options(parser, ReferenceOptions)


def handle(args: argparse.Namespace) -> int:
    from genbench.cli.report import format_result
    from genbench.evaluation.real_images import (export_reference_statistics, export_selection, print_identity,
                                                 reference_row)

    options = options_from_args(ReferenceOptions, args)
    if options.print_identity or options.export_selection or options.export_stats:
        if options.print_identity:
            print(print_identity(options))
        if options.export_selection:
            count = export_selection(options, options.export_selection)
            print(f"{count} selected records written to {options.export_selection}")
        if options.export_stats:
            print(export_reference_statistics(options))
        return 0
    record = reference_row(options)
    print(format_result(record))
    print(f"result: {record['path']}")
    return 0
