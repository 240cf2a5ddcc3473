"""``torchrun`` with two CPU processes (gloo) gives the same numbers as one process."""

from __future__ import annotations

import json
import subprocess
import sys

import genbench
from genbench.distributed import ProcessGroup

from tests_support import SMALL, metric_values


def test_shards_are_dealt_round_robin():
    ranks = [ProcessGroup(rank, 3) for rank in range(3)]
    assert [[s for s in range(7) if g.owns(s)] for g in ranks] == [[0, 3, 6], [1, 4], [2, 5]]
    assert ProcessGroup().owns(5) and ProcessGroup().is_main


def test_two_processes_give_the_single_process_numbers(tmp_path, vae_checkpoint):
    common = dict(plugin="vae", protocol="digits", checkpoint=vae_checkpoint, quiet=True, settings=SMALL)
    single = genbench.run(results_dir=tmp_path / "single", **common)
    sets = [arg for key, value in SMALL.items() for arg in ("--set", f"{key}={value}")]
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "genbench", "run", "--plugin", "vae", "--protocol", "digits", "--checkpoint", str(vae_checkpoint),
         "--results-dir", str(tmp_path / "multi"), "--device", "cpu", "--quiet", *sets],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = list((tmp_path / "multi").glob("*.json"))
    assert len(results) == 1  # only the main rank writes
    left = sorted(p.name for p in (tmp_path / "multi").iterdir())
    assert left == sorted([results[0].name, results[0].stem + ".grid.png"])  # no .work, no lock file
    assert metric_values(json.loads(results[0].read_text())) == metric_values(single)
