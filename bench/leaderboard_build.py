"""How long `genbench leaderboard` takes for many results: a cold build, an unchanged rebuild, a Markdown export.

Usage: python bench/leaderboard_build.py [--runs 1000] [--protocols 4]
Records are crafted (tests/leaderboard_records.py), each with a small sample grid PNG, spread over
several protocol fingerprints, plugins and DDIM step sweeps, as a busy results directory would be.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from leaderboard_records import definition, make_record, write_records  # noqa: E402

from genbench.leaderboard import build_leaderboard, export_tables  # noqa: E402

PLUGINS = ("vae", "ddpm", "ddim", "ldm", "galip", "dfgan")


def crafted_records(runs: int, protocols: int) -> list[dict]:
    records = []
    for i in range(runs):
        plugin = PLUGINS[i % len(PLUGINS)]
        fingerprint = i % protocols
        settings = {"steps": (10, 20, 50, 100)[i // len(PLUGINS) % 4]} if plugin == "ddim" else {}
        records.append(make_record(
            f"digits__{plugin}__{i:05d}", plugin, fd=5 + (i * 7919 % 1000) / 50, kid=(i * 104729 % 1000) / 2000,
            confidence=0.5 + (i * 31 % 500) / 1000, seconds_per_image=1e-4 * (1 + i % 97), settings=settings,
            fingerprint=f"fp{fingerprint}", checkpoint_sha256=f"{i % 50:064x}", grid=f"digits__{plugin}__{i:05d}.grid.png",
            protocol_definition=definition(**{"sampling.num_samples": 1000 - 100 * fingerprint}),
            finished_at=f"2026-11-{1 + i % 28:02d}T10:00:00+00:00"))
    return records


def timed(action) -> tuple[float, float]:
    """Wall seconds and CPU seconds of this process (the second is less sensitive to a busy machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--protocols", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = write_records(Path(tmp) / "results", crafted_records(args.runs, args.protocols))
        out = Path(tmp) / "site"
        cold = timed(lambda: build_leaderboard(results, out))
        summary = build_leaderboard(results, out)
        warm = timed(lambda: build_leaderboard(results, out))
        markdown = timed(lambda: export_tables(results, None, "md"))
        files = sum(1 for p in out.rglob("*") if p.is_file())
    print(f"{args.runs} results, {args.protocols} fingerprints, {files} files; Python {platform.python_version()} "
          f"on {platform.processor() or platform.machine()}")
    print(f"{'':18}{'wall s':>8}{'CPU s':>8}")
    for name, (wall, cpu) in (("cold build", cold), ("unchanged rebuild", warm), ("markdown export", markdown)):
        print(f"{name:18}{wall:8.2f}{cpu:8.2f}")
    print(f"(the rebuild rewrote nothing: {summary.unchanged} files unchanged)")


if __name__ == "__main__":
    main()
