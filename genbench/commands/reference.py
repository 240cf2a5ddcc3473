"""``genbench reference``: a protocol's metrics for its own real reference images (FID of halves, IS, CLIP score)."""

from __future__ import annotations

import argparse
from pathlib import Path

from genbench.commands.run import add_environment_arguments, seed_int

NAME = "reference"
HELP = "score the protocol's real reference images (two-set metrics on seeded halves) and write a result"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--protocol", required=True, help="protocol name or path to a protocol .toml file")
    parser.add_argument("--seed", type=seed_int, help="seed of the split into halves (default: the protocol's seed)")
    parser.add_argument("--results-dir", type=Path, default=Path("results"),
                        help="where the result file goes (default: results)")
    add_environment_arguments(parser)


def handle(args: argparse.Namespace) -> int:
    from genbench.reference_row import PLUGIN, reference_row
    from genbench.report import format_result
    from genbench.runner import RunOptions

    record = reference_row(RunOptions(
        plugin=PLUGIN, protocol=args.protocol, device=args.device, seed=args.seed, results_dir=args.results_dir,
        quiet=args.quiet, cache_dir=args.cache_dir, weights_dir=args.weights_dir, data_dir=args.data_dir,
        trust_weights=args.trust_weights, command=["genbench", *args.argv]))
    print(format_result(record))
    print(f"result: {record['path']}")
    return 0
