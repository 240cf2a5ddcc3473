"""``torchrun`` over CPU processes (gloo, 127.0.0.1) gives the single-process numbers, with or without a shared disk,
after a killed rank is restarted; a killed rank with no restarts left fails the job quickly and names the rank."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tests_support import FAST, SMALL, metric_values

import genbench
from genbench.extractors.base import FeatureExtractor
from genbench.extractors.feature_pass import extract_features
from genbench.runner.reference_pass import block_features
from genbench.runner.shards import assign_shards
from genbench.trust.hashing import sha256_file

#: Four shards of 100 images (rank 0 samples shards 0 and 2, rank 1 shards 1 and 3).
FOUR_SHARDS = {**SMALL, "protocol.sampling.shard_size": "100"}

#: The VAE, except that the process of rank 1 kills itself (SIGKILL) in its second sampling call, once per marker.
DYING_VAE = """
import dataclasses
import os
import signal
from pathlib import Path

from genbench.registry.hookspecs import hookimpl
from genbench_models.vae import VAE, BetaVAE


class DyingVAE(BetaVAE):
    calls = 0

    def sample(self, batch):
        with open(os.environ["DYING_VAE_LOG"], "a") as log:
            log.write(f"{os.environ['RANK']} {batch.seeds[0]}\\n")
        DyingVAE.calls += 1
        marker = Path(os.environ["DYING_VAE_MARKER"])
        if os.environ["RANK"] == "1" and DyingVAE.calls == 2 and not marker.exists():
            marker.write_text("killed")
            os.kill(os.getpid(), signal.SIGKILL)
        return super().sample(batch)


@hookimpl
def genbench_models():
    return [dataclasses.replace(VAE, name="dying-vae", model_class=DyingVAE)]
"""


def test_unfinished_shards_are_dealt_round_robin():
    assert assign_shards([[False] * 7] * 3) == [0, 1, 2, 0, 1, 2, 0]
    assert assign_shards([[False] * 3]) == [0, 0, 0]


def test_a_shard_finished_by_some_rank_comes_from_it_and_the_rest_are_dealt():
    finished = [[False, False, True, False, False],
                [True, False, True, False, False]]
    assert assign_shards(finished) == [1, 0, 0, 1, 0]


class ChunkSum(FeatureExtractor):
    """Per image, its pixel sum plus its chunk's mean: a feature that depends on how images were chunked."""

    feature_names = ("sum",)
    weights_sha256 = "none"

    def extract(self, images, captions=None):
        sums = images.double().flatten(1).sum(1, keepdim=True)
        return {"sum": sums + sums.mean()}


@pytest.mark.parametrize("world_size", [1, 2, 3, 5])
def test_the_ranks_reference_blocks_join_into_the_single_process_features(world_size):
    images = torch.randint(0, 256, (130, 1, 4, 4), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    expected = extract_features({"x": ChunkSum()}, images, None, 20)
    blocks = [block_features({"x": ChunkSum()}, images, None, 20, rank, world_size) for rank in range(world_size)]
    assert torch.equal(torch.cat([b["x/sum"] for b in blocks if b]), expected["x/sum"])
    assert sum(not b for b in blocks) == (1 if world_size == 5 else 0)  # 7 chunks over 5 ranks: the last gets none


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def settings_args(settings: dict[str, str]) -> list[str]:
    return [arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")]


def start_nodes(tmp_path: Path, plugin: str, settings: dict[str, str], extra: list[str], max_restarts: int,
                env: dict[str, str] | None = None) -> list[subprocess.Popen]:
    """Two ``torchrun`` agents as two one-process nodes (c10d rendezvous on 127.0.0.1), each with its own
    results directory and cache: nothing on disk is shared."""
    port = free_port()
    nodes = []
    for node in range(2):
        command = [sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc-per-node=1",
                   "--rdzv-backend=c10d", f"--rdzv-endpoint=127.0.0.1:{port}", f"--rdzv-id=genbench-{port}",
                   f"--max-restarts={max_restarts}", "--monitor-interval=0.2",
                   "-m", "genbench", "run", "--plugin", plugin, "--protocol", "digits",
                   "--results-dir", str(tmp_path / f"node{node}" / "results"),
                   "--cache-dir", str(tmp_path / f"node{node}" / "cache"),
                   "--device", "cpu", "--quiet", *settings_args(settings), *extra]
        nodes.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      env={**os.environ, "GENBENCH_THREADS": "1", **(env or {})},
                                      start_new_session=True))  # one thread, as the single run they equal
    return nodes


def finish(nodes: list[subprocess.Popen], timeout: float) -> list[tuple[int, str]]:
    outcomes = []
    for node in nodes:
        try:
            _, stderr = node.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for other in nodes:  # the agents and their workers
                if other.poll() is None:
                    os.killpg(other.pid, signal.SIGKILL)
            raise
        outcomes.append((node.returncode, stderr))
    return outcomes


def single_result(tmp_path: Path) -> dict:
    """The one result file of a two-node run (written by whichever node held rank 0)."""
    results = [p for node in ("node0", "node1") for p in (tmp_path / node / "results").glob("*.json")]
    assert len(results) == 1
    return json.loads(results[0].read_text())


def test_two_processes_on_one_machine_give_the_single_process_numbers(tmp_path, vae_checkpoint):
    common = dict(plugin="vae", protocol="digits", checkpoint=vae_checkpoint, quiet=True, settings=SMALL)
    # torchrun gives each of its processes one thread; some CPUs' float32 kernels split their sums by thread count,
    # so the single process is compared at the same count (what docs/scale.md promises)
    single = genbench.run(results_dir=tmp_path / "single", threads=1, **common)
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "genbench", "run", "--plugin", "vae", "--protocol", "digits", "--checkpoint", str(vae_checkpoint),
         "--results-dir", str(tmp_path / "multi"), "--device", "cpu", "--quiet", *settings_args(SMALL)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = list((tmp_path / "multi").glob("*.json"))
    assert len(results) == 1  # only the main rank writes
    left = sorted(p.name for p in (tmp_path / "multi").iterdir())
    assert left == sorted([results[0].name, results[0].stem + ".grid.png"])  # no .work, no lock file
    assert metric_values(json.loads(results[0].read_text())) == metric_values(single)
    assert not (tmp_path / "multi" / ".work").exists()  # no rank leaves shards (or an empty .work) behind


@pytest.mark.slow
def test_two_nodes_without_a_shared_disk_train_once_and_give_the_single_process_numbers(tmp_path):
    settings = {**FAST, "protocol.sampling.shard_size": "100"}
    single = genbench.run(plugin="vae", protocol="digits", results_dir=tmp_path / "single", quiet=True,
                          settings=settings, cache_dir=tmp_path / "single-cache", threads=1)  # as each rank
    outcomes = finish(start_nodes(tmp_path, "vae", settings, [], max_restarts=0), timeout=600)
    assert [code for code, _ in outcomes] == [0, 0], outcomes[0][1][-2000:] + outcomes[1][1][-2000:]
    record = single_result(tmp_path)
    assert metric_values(record) == metric_values(single)
    checkpoints = [p for node in ("node0", "node1") for p in (tmp_path / node / "results" / "checkpoints").glob("*.safetensors")]
    assert len(checkpoints) == 2  # trained on rank 0, its bytes received (and hash-checked) by rank 1
    assert checkpoints[0].read_bytes() == checkpoints[1].read_bytes()
    assert record["plugin"]["checkpoint_sha256"] == sha256_file(checkpoints[0])
    trained_alone = load_file(single["plugin"]["checkpoint"])  # same weights (safetensors orders metadata at random)
    assert all(torch.equal(tensor, trained_alone[name]) for name, tensor in load_file(checkpoints[0]).items())
    caches = [list((tmp_path / node / "cache").rglob("*.safetensors")) for node in ("node0", "node1")]
    assert sorted(len(c) for c in caches) == [0, 1]  # the reference features are cached on the main rank only


def install_dying_vae(plugin_installer, tmp_path: Path) -> dict[str, str]:
    plugin_installer.install("dying-vae", "dying", "dying_vae_plugin", DYING_VAE)
    return {"PYTHONPATH": os.pathsep.join([str(plugin_installer.root), os.environ.get("PYTHONPATH", "")]),
            "DYING_VAE_LOG": str(tmp_path / "calls.log"), "DYING_VAE_MARKER": str(tmp_path / "killed")}


@pytest.mark.slow
def test_a_killed_rank_is_restarted_and_the_job_resumes_to_the_same_numbers(tmp_path, vae_checkpoint, plugin_installer):
    env = install_dying_vae(plugin_installer, tmp_path)
    single = genbench.run(plugin="vae", protocol="digits", checkpoint=vae_checkpoint, results_dir=tmp_path / "single",
                          quiet=True, settings=FOUR_SHARDS, threads=1)  # as each rank
    nodes = start_nodes(tmp_path, "dying-vae", FOUR_SHARDS, ["--checkpoint", str(vae_checkpoint)], max_restarts=1,
                        env=env)
    outcomes = finish(nodes, timeout=600)
    assert [code for code, _ in outcomes] == [0, 0], outcomes[0][1][-2000:] + outcomes[1][1][-2000:]
    assert (tmp_path / "killed").exists()
    assert metric_values(single_result(tmp_path)) == metric_values(single)
    calls = (tmp_path / "calls.log").read_text().split("\n")
    first_of_rank_1 = next(line for line in calls if line.startswith("1 "))
    seed = first_of_rank_1.split()[1]
    assert sum(line.split()[1] == seed for line in calls if line) == 1  # its finished shard was not sampled again


@pytest.mark.slow
def test_a_killed_rank_without_restarts_fails_the_job_quickly_naming_the_rank(tmp_path, vae_checkpoint,
                                                                              plugin_installer):
    env = install_dying_vae(plugin_installer, tmp_path)
    started = time.monotonic()
    nodes = start_nodes(tmp_path, "dying-vae", FOUR_SHARDS, ["--checkpoint", str(vae_checkpoint)], max_restarts=0,
                        env=env)
    outcomes = finish(nodes, timeout=300)
    assert time.monotonic() - started < 300
    assert all(code != 0 for code, _ in outcomes)
    errors = [line for _, stderr in outcomes for line in stderr.splitlines() if line.startswith("genbench: error:")]
    assert len(errors) == 1, [stderr[-2000:] for _, stderr in outcomes]
    assert errors[0].startswith("genbench: error: rank 0 lost rank 1 while receiving shard 1's features")
    assert not [p for node in ("node0", "node1") for p in (tmp_path / node / "results").glob("*.json")]
