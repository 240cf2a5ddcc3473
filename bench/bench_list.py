"""``genbench list`` against ``python -c "import torch"``, side by side, each in a fresh process.

Registering plugins imports every plugin module and genbench's own data sets, extractors and metrics; their
heavy libraries (torchvision, diffusers, transformers, open_clip, clean-fid) load only when used, so listing
should cost little more than torch itself. The runs alternate (torch, list, torch, list, ...) so that a change
in the machine's load touches both.

    python bench/bench_list.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = {
    "import torch": [sys.executable, "-c", "import torch"],
    "genbench list": [str(Path(sys.executable).with_name("genbench")), "list"],
    "genbench --help": [str(Path(sys.executable).with_name("genbench")), "--help"],
}


def seconds(command: list[str]) -> float:
    """Wall time of one run of ``command`` (its output discarded)."""
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for command in COMMANDS.values():  # warm the file cache once
        seconds(command)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeats):
        for name, command in COMMANDS.items():
            times[name].append(seconds(command))
    base = statistics.median(times["import torch"])
    print(f"load before: {os.getloadavg()[0]:.2f} (1-minute average), {args.repeats} alternating runs each")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<16} median {median:.2f} s (min {min(values):.2f}, max {max(values):.2f})  "
              f"{median / base:.2f}x import torch")


if __name__ == "__main__":
    main()
