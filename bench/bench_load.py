"""The demo's β-VAE training on ``digits`` on an idle machine and beside busy processes, before and after
genbench set OpenMP's wait policy to ``PASSIVE`` by default.

Before, torch's OpenMP threads (libgomp) spun while they waited for work; on a machine whose cores other jobs
hold, the spinning threads take the cores the working one needs. A waiting thread now sleeps at once. Each
measurement is a fresh process (the policy is read when torch starts its threads) training from scratch with
the demo's recipe cut to ``--epochs``; the time is the one the result records (``training.seconds``). "Busy"
starts ``--busy`` processes for the whole measurement, as two other jobs on a 2-core CI runner do: Python loops
that each hold one core, or torch jobs on torch's default threads (whose own OpenMP threads spin as they wait). ``--before DIR`` is a checkout of genbench before the change (``git worktree add DIR REV``),
run from source with this interpreter.

    python bench/bench_load.py --before /tmp/genbench-before [--epochs 10] [--busy 2] [--repeats 2] [--kinds python,torch]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


#: What a busy process runs: a Python loop holding one core, or a torch job (matrix products on torch's default
#: threads, the other programs' OpenMP threads spinning as they wait, as another test suite or training does).
BUSY = {"python": "while True: pass",
        "torch": "import torch\na = torch.randn(512, 512)\nwhile True: a @ a"}


@contextmanager
def busy(count: int, kind: str) -> Iterator[None]:
    """``count`` processes running ``BUSY[kind]`` until the block ends."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    spinners = [subprocess.Popen([sys.executable, "-c", BUSY[kind]], env=env) for _ in range(count)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def training_seconds(source: Path | None, epochs: int) -> float:
    """One fresh training of the demo's VAE by the genbench in ``source`` (None: the installed one)."""
    with tempfile.TemporaryDirectory() as scratch:
        env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
        env["GENBENCH_CACHE"] = str(Path(scratch) / "cache")
        if source is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(source), str(source / "plugins")])
        subprocess.run([sys.executable, "-m", "genbench", "run", "--plugin", "vae", "--protocol", "digits",
                        "--results-dir", scratch, "--quiet", "--set", f"train.epochs={epochs}",
                        "--set", "protocol.speed.repeats=1"], check=True, env=env, stdout=subprocess.DEVNULL)
        record = json.loads(next(Path(scratch).glob("*.json")).read_text())
        return float(record["training"]["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True, help="a checkout of genbench before the change")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--busy", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--kinds", default="python,torch", help="busy kinds to measure (python, torch)")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs; VAE on digits, {args.epochs} epochs")
    for others, kind in [(0, "python")] + [(args.busy, kind) for kind in args.kinds.split(",")]:
        for label, source in (("before (libgomp's spinning wait)", args.before), ("after (PASSIVE by default)", None)):
            with busy(others, kind):
                times = [training_seconds(source, args.epochs) for _ in range(args.repeats)]
            who = f"{others} busy {kind} processes" if others else "idle"
            print(f"{who:<24}, {label:<33}: training {statistics.median(times):7.2f} s "
                  f"(runs: {', '.join(f'{t:.2f}' for t in times)})")


if __name__ == "__main__":
    main()
