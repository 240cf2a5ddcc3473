"""``genbench score``: a protocol's metrics for samples made elsewhere (a folder of images or an .npz)."""

from __future__ import annotations

import argparse
from pathlib import Path

from genbench.cli.commands.compare import metric_list
from genbench.cli.commands.run import add_environment_arguments, add_reference_arguments

NAME = "score"
HELP = "compute a protocol's metrics for existing samples (image folder or .npz) and write a result file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--protocol", required=True, help="protocol name or path to a protocol .toml file")
    parser.add_argument("--samples", required=True, type=Path,
                        help="folder of image files (sorted by name) or .npz with one uint8 array [N, H, W, C]")
    parser.add_argument("--captions", type=Path,
                        help="text file, one caption per sample in sample order (text-to-image protocols)")
    parser.add_argument("--results-dir", type=Path, default=Path("results"),
                        help="where result files go (default: results)")
    parser.add_argument("--metrics", type=metric_list, default=(),
                        help="comma-separated metrics to add to the protocol, from fd_dinov2, cmmd, density, coverage, "
                             "vendi, fid_infinity (the result then has its own fingerprint)")
    parser.add_argument("--bootstrap", type=int, default=0, metavar="B",
                        help="95%% bootstrap interval of every two-set metric from B resamplings of the features "
                             "(default: the protocol's)")
    add_reference_arguments(parser)
    add_environment_arguments(parser)


def handle(args: argparse.Namespace) -> int:
    from genbench.cli.report import format_result
    from genbench.evaluation.score import ScoreOptions, score_samples

    record = score_samples(ScoreOptions(
        protocol=args.protocol, samples=args.samples, captions=args.captions, device=args.device,
        results_dir=args.results_dir, cache_dir=args.cache_dir, weights_dir=args.weights_dir, data_dir=args.data_dir,
        trust_weights=args.trust_weights, quiet=args.quiet, threads=args.threads,
        command=["genbench", *args.argv], allow_reference_mismatch=args.allow_reference_mismatch,
        metrics=args.metrics, bootstrap=args.bootstrap,
    ))
    print(format_result(record))
    print(f"result: {record['path']}")
    return 0
