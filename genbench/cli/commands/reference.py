"""``genbench reference``: a protocol's metrics for its own real reference images (FID of halves, IS, CLIP score),
or the reference set's content identity (``--print-identity``) and caption selection (``--export-selection``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from genbench.cli.commands.run import add_environment_arguments, add_reference_arguments, seed_int

NAME = "reference"
HELP = "score the protocol's real reference images (two-set metrics on seeded halves) and write a result"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--protocol", required=True, help="protocol name or path to a protocol .toml file")
    parser.add_argument("--seed", type=seed_int, help="seed of the split into halves (default: the protocol's seed)")
    parser.add_argument("--results-dir", type=Path, default=Path("results"),
                        help="where the result file goes (default: results)")
    parser.add_argument("--print-identity", action="store_true",
                        help="only print the reference set's content identity (what a protocol pins as "
                        "data.reference_sha256) and its parts; no features, no result")
    parser.add_argument("--export-selection", type=Path, metavar="FILE",
                        help="only write the reference set's selected records (COCO image and caption ids) as a "
                        "tab-separated FILE, for a paper to publish; no features, no result")
    add_reference_arguments(parser)
    add_environment_arguments(parser)


def handle(args: argparse.Namespace) -> int:
    from genbench.evaluation.real_images import PLUGIN, export_selection, print_identity, reference_row
    from genbench.cli.report import format_result
    from genbench.runner.runner import RunOptions

    options = RunOptions(
        plugin=PLUGIN, protocol=args.protocol, device=args.device, seed=args.seed, results_dir=args.results_dir,
        quiet=args.quiet, cache_dir=args.cache_dir, weights_dir=args.weights_dir, data_dir=args.data_dir,
        trust_weights=args.trust_weights, threads=args.threads, command=["genbench", *args.argv],
        allow_reference_mismatch=args.allow_reference_mismatch)
    if args.print_identity or args.export_selection:
        if args.print_identity:
            print(print_identity(options))
        if args.export_selection:
            count = export_selection(options, args.export_selection)
            print(f"{count} selected records written to {args.export_selection}")
        return 0
    record = reference_row(options)
    print(format_result(record))
    print(f"result: {record['path']}")
    return 0
