"""``genbench run``: evaluate a model plugin on a protocol and write one result file."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

NAME = "run"
HELP = "evaluate a model plugin on a protocol and write one result file"


def key_value(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got '{text}'")
    key, value = text.split("=", 1)
    return key.strip(), value.strip()


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (batch sizes, subset sizes, split counts)."""
    return _bounded_int(text, 1, "a whole number of at least 1")


def seed_int(text: str) -> int:
    """An argparse type: a seed, a whole number from 0 to 2**63 - 1."""
    return _bounded_int(text, 0, "a whole number from 0 to 2**63 - 1", 2 ** 63 - 1)


def _bounded_int(text: str, low: int, expected: str, high: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got '{text}'") from None
    if value < low or (high is not None and value > high):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
    return value


def add_environment_arguments(parser: argparse.ArgumentParser) -> None:
    """Where weights, data and caches live, and the device: shared by every command that extracts features."""
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available, else cpu)")
    parser.add_argument("--cache-dir", type=Path,
                        help="reference-feature cache (default: $GENBENCH_CACHE or ~/.cache/genbench)")
    parser.add_argument("--weights-dir", type=Path, default=os.environ.get("GENBENCH_WEIGHTS"),
                        help="directory searched first for extractor weights (default: $GENBENCH_WEIGHTS)")
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("GENBENCH_DATA"),
                        help="local data root for data sets that download when online (default: $GENBENCH_DATA)")
    parser.add_argument("--trust-weights", action="store_true",
                        help="accept extractor weights whose SHA-256 is not the official release's")
    add_threads_argument(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bars or status lines")


def add_reference_arguments(parser: argparse.ArgumentParser) -> None:
    """What to do when the reference data is not the copy the protocol pins: shared by commands that read it."""
    parser.add_argument("--allow-reference-mismatch", action="store_true",
                        help="score against a reference set whose content identity differs from the protocol's pin "
                        "(the result gets its own fingerprint and is never ranked with the standard one)")
def add_threads_argument(parser: argparse.ArgumentParser) -> None:
    """``--threads N``: torch's CPU thread count (recorded in the result), for machines shared with other work."""
    parser.add_argument("--threads", type=int, metavar="N",
                        help="CPU threads torch may use; 1 or 2 on a busy shared machine "
                        "(default: $GENBENCH_THREADS, else one per core)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--plugin", required=True, help="model plugin name (see `genbench list`)")
    parser.add_argument("--protocol", required=True, help="protocol name or path to a protocol .toml file")
    parser.add_argument("--checkpoint", type=Path, help="checkpoint to evaluate; without it the protocol's "
                        "training recipe trains the model first (saved under RESULTS_DIR/checkpoints)")
    parser.add_argument("--seed", type=seed_int, help="run seed (default: the protocol's sampling seed)")
    parser.add_argument("--results-dir", type=Path, default=Path("results"),
                        help="where result files go (default: results)")
    parser.add_argument("--set", dest="settings", type=key_value, action="append", default=[], metavar="KEY=VALUE",
                        help="model setting (e.g. steps=20), training override (train.epochs=2) or protocol "
                        "override (protocol.sampling.num_samples=200, which changes the fingerprint); repeatable")
    parser.add_argument("--batch-size", type=positive_int, help="sampling batch size (does not change any metric)")
    parser.add_argument("--save-samples", action="store_true", help="also write every generated image as PNG")
    parser.add_argument("--allow-nondeterministic", action="store_true",
                        help="evaluate a plugin whose images do not depend on their seeds alone (the result says "
                        "deterministic: false and the leaderboard never ranks it)")
    add_reference_arguments(parser)
    add_environment_arguments(parser)


def options_from_args(args: argparse.Namespace):
    from genbench.runner.runner import RunOptions

    return RunOptions(
        plugin=args.plugin, protocol=args.protocol, checkpoint=args.checkpoint, device=args.device,
        seed=args.seed, results_dir=args.results_dir, settings=dict(args.settings), batch_size=args.batch_size,
        save_samples=args.save_samples, quiet=args.quiet, cache_dir=args.cache_dir, weights_dir=args.weights_dir,
        data_dir=args.data_dir, trust_weights=args.trust_weights, threads=args.threads,
        command=["genbench", *args.argv], allow_reference_mismatch=args.allow_reference_mismatch,
        allow_nondeterministic=args.allow_nondeterministic,
    )


def handle(args: argparse.Namespace) -> int:
    from genbench.cli.report import format_result
    from genbench.runner.runner import Runner

    record = Runner(options_from_args(args)).run()
    if record is None:  # a non-main rank under torchrun: the main rank reports
        return 0
    print(format_result(record))
    print(f"result: {record['path']}")
    return 0
