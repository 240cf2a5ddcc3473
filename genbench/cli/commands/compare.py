"""``genbench compare``: FID / KID / IS / precision-recall between two image folders, like torch-fidelity's CLI."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from genbench.cli.commands.run import add_threads_argument, positive_int

NAME = "compare"
HELP = "metrics between two image folders (the first is the generated one), with torch-fidelity's key names"


def metric_list(text: str) -> tuple[str, ...]:
    return tuple(m.strip() for m in text.split(",") if m.strip())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder_a", type=Path, help="generated images (IS is computed on these)")
    parser.add_argument("folder_b", type=Path, help="reference images")
    parser.add_argument("--metrics", type=metric_list, default=("fid", "kid", "isc"),
                        help="comma-separated, from fid, kid, isc, prc (torch-fidelity's keys), fd_dinov2, cmmd, "
                             "density, coverage, vendi, fid_infinity (default: fid,kid,isc)")
    parser.add_argument("--kid-subset-size", type=positive_int, default=1000, help="KID subset size (default: 1000)")
    parser.add_argument("--kid-subsets", type=positive_int, default=100, help="number of KID subsets (default: 100)")
    parser.add_argument("--isc-splits", type=positive_int, default=10, help="Inception Score splits (default: 10)")
    parser.add_argument("--allow-singular-covariance", action="store_true",
                        help="compute FID even with no more images than the 2048 feature dimensions")
    parser.add_argument("--bootstrap", type=int, default=0, metavar="B",
                        help="add <key>_ci_low/_ci_high: the 95%% bootstrap interval of every two-set metric "
                             "from B resamplings of the features (default: 0, none)")
    parser.add_argument("--bootstrap-seed", type=int, default=0, help="seed of the bootstrap resampling (default: 0)")
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available, else cpu)")
    parser.add_argument("--weights-dir", type=Path, default=os.environ.get("GENBENCH_WEIGHTS"),
                        help="directory holding weights-inception-2015-12-05-6726825d.pth, dinov2-large/, "
                             "open_clip-ViT-L-14-336-openai.safetensors (default: $GENBENCH_WEIGHTS)")
    parser.add_argument("--cache-dir", type=Path, help="feature cache (default: $GENBENCH_CACHE or ~/.cache/genbench)")
    parser.add_argument("--trust-weights", action="store_true",
                        help="accept an Inception weights file whose SHA-256 is not the official release's")
    parser.add_argument("--json", action="store_true", help="print one JSON object with torch-fidelity's key names")
    add_threads_argument(parser)


def handle(args: argparse.Namespace) -> int:
    from genbench.evaluation.compare import CompareOptions, compare_folders

    values = compare_folders(CompareOptions(
        folder_a=args.folder_a, folder_b=args.folder_b, metrics=args.metrics, kid_subset_size=args.kid_subset_size,
        kid_subsets=args.kid_subsets, isc_splits=args.isc_splits,
        allow_singular_covariance=args.allow_singular_covariance, device=args.device, weights_dir=args.weights_dir,
        cache_dir=args.cache_dir, trust_weights=args.trust_weights, bootstrap=args.bootstrap,
        bootstrap_seed=args.bootstrap_seed,
    ))
    if args.json:
        print(json.dumps(values, indent=2))
    else:
        for key, value in values.items():
            print(f"{key}: {value:.7g}")
    return 0
