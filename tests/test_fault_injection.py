"""Fault injection: kill -9 a real ``genbench run`` at named points, corrupt its files, race it; the rerun
gives the same numbers and leaves nothing behind. Driver: ``tests/fault_injection.py``."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from tests_support import SMALL, metric_values

DRIVER = Path(__file__).with_name("fault_injection.py")
pytestmark = pytest.mark.slow


def genbench_args(results: Path, cache: Path, checkpoint: Path | None, settings: dict[str, str] = SMALL) -> list[str]:
    sets = [arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")]
    given = ["--checkpoint", str(checkpoint)] if checkpoint else []
    return ["run", "--plugin", "vae", "--protocol", "digits", *given, "--results-dir", str(results),
            "--cache-dir", str(cache), "--quiet", "--device", "cpu", "--batch-size", "50", *sets]


def genbench(*args: str, point: str | None = None, count: int = 1) -> subprocess.CompletedProcess:
    command = [sys.executable, str(DRIVER), point, str(count)] if point else [sys.executable, "-m", "genbench"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=600)


def the_result(results: Path) -> dict:
    (path,) = results.glob("*.json")
    return json.loads(path.read_text(encoding="utf-8"))


def everything(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")} if folder.exists() else set()


def assert_nothing_left_behind(results: Path, cache: Path) -> None:
    """Only result files, their grids (and a trained checkpoint) remain; no temp, lock or work files."""
    for path in everything(results):
        assert path.endswith((".json", ".grid.png")) or path.startswith("checkpoints"), path
        assert not Path(path).name.startswith("."), path
    assert not {p for p in everything(cache) if Path(p).name.startswith(".")}


@pytest.fixture(scope="module")
def baseline(vae_checkpoint, tmp_path_factory) -> dict:
    """An uninterrupted run: the numbers every killed-and-rerun run must reproduce exactly."""
    root = tmp_path_factory.mktemp("baseline")
    done = genbench(*genbench_args(root / "results", root / "cache", vae_checkpoint))
    assert done.returncode == 0, done.stderr
    return the_result(root / "results")


#: point, which call of it kills, what the kill must have left (glob under the results or cache dir)
KILLS = [
    ("sample", 9, "results", ".work/*/shard-000000.safetensors"),  # after the 2 probe batches and shard 0
    ("shard-write", 2, "results", ".work/*/.shard-000001.safetensors.*.tmp"),
    ("shard-record", 2, "results", ".work/*/shard-000001.safetensors"),
    ("cache-write", 1, "cache", "reference/.*.safetensors.*.tmp"),
    ("grid-write", 1, "results", ".*.grid.png.*.tmp"),
    ("result-write", 1, "results", ".*.json.*.tmp"),
]


@pytest.mark.parametrize("point, count, where, debris", KILLS, ids=[k[0] for k in KILLS])
def test_kill_9_then_rerun_gives_the_same_numbers_and_leaves_nothing(tmp_path, vae_checkpoint, baseline,
                                                                     point, count, where, debris):
    results, cache = tmp_path / "results", tmp_path / "cache"
    args = genbench_args(results, cache, vae_checkpoint)
    killed = genbench(*args, point=point, count=count)
    assert killed.returncode == -9, killed.stderr
    assert list((tmp_path / where).glob(debris)), f"the kill at {point} left no {debris}"
    assert list(results.glob("*.json")) == []
    rerun = genbench(*args)
    assert rerun.returncode == 0, rerun.stderr
    assert metric_values(the_result(results)) == metric_values(baseline)
    assert_nothing_left_behind(results, cache)


def test_kill_9_between_checkpoint_and_training_report_trains_again(tmp_path):
    results, cache = tmp_path / "results", tmp_path / "cache"
    args = genbench_args(results, cache, None, {**SMALL, "train.max_steps": "20"})
    killed = genbench(*args, point="training-report")
    assert killed.returncode == -9, killed.stderr
    (checkpoint,) = (results / "checkpoints").glob("*.safetensors")
    assert not list((results / "checkpoints").glob("*.training.json"))
    rerun = genbench(*args)
    assert rerun.returncode == 0, rerun.stderr
    assert the_result(results)["training"]["steps"] == 20
    assert json.loads(checkpoint.with_name(checkpoint.name + ".training.json").read_text())["report"]["steps"] == 20
    assert_nothing_left_behind(results, cache)


def test_corrupt_shards_and_cache_entries_are_redone(tmp_path, vae_checkpoint, baseline):
    results, cache = tmp_path / "results", tmp_path / "cache"
    args = genbench_args(results, cache, vae_checkpoint)
    assert genbench(*args, point="result-write").returncode == -9  # every shard and the cache are written
    shards = sorted((results / ".work").glob("*/shard-*.safetensors"))
    entries = sorted((cache / "reference").glob("*.safetensors"))
    assert len(shards) == 2 and entries
    shards[0].write_bytes(b"garbage")
    (shards[1].parent / (shards[1].name + ".sha256.json")).write_text("[]", encoding="utf-8")
    flipped = bytearray(entries[0].read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF
    entries[0].write_bytes(bytes(flipped))
    rerun = genbench(*args)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stderr.count("is corrupt") == 3, rerun.stderr
    assert metric_values(the_result(results)) == metric_values(baseline)
    assert_nothing_left_behind(results, cache)


def test_two_identical_runs_started_together_both_finish_with_the_same_numbers(tmp_path, vae_checkpoint, baseline):
    results, cache = tmp_path / "results", tmp_path / "cache"
    command = [sys.executable, "-m", "genbench", *genbench_args(results, cache, vae_checkpoint)]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outcomes
    records = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(results.glob("*.json"))]
    assert len(records) == 2 and records[0]["run_id"] != records[1]["run_id"]
    assert [metric_values(r) for r in records] == [metric_values(baseline)] * 2
    assert len(list(results.glob("*.grid.png"))) == 2
    assert_nothing_left_behind(results, cache)


class Payload:
    """Unpickling this runs a shell command that creates a marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def pipeline_with_pickled_weights(root: Path, payload: Payload) -> Path:
    """A diffusers pipeline directory whose U-Net weights exist only as a pickle."""
    for folder in ("unet", "scheduler"):
        (root / folder).mkdir(parents=True)
    (root / "model_index.json").write_text(json.dumps({"_class_name": "DDPMPipeline", "_diffusers_version": "0.30.0",
                                                       "unet": ["diffusers", "UNet2DModel"],
                                                       "scheduler": ["diffusers", "DDPMScheduler"]}))
    (root / "unet" / "config.json").write_text(json.dumps({
        "_class_name": "UNet2DModel", "sample_size": 8, "in_channels": 1, "out_channels": 1,
        "block_out_channels": [8, 16], "norm_num_groups": 4, "layers_per_block": 1,
        "down_block_types": ["DownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "UpBlock2D"]}))
    (root / "scheduler" / "scheduler_config.json").write_text(json.dumps({"_class_name": "DDPMScheduler"}))
    for name in ("diffusion_pytorch_model.bin", "diffusion_pytorch_model.ckpt"):
        (root / "unet" / name).write_bytes(pickle.dumps(payload))
    return root


def test_a_malicious_pickle_as_checkpoint_is_never_executed(tmp_path, capsys):
    from genbench.cli import main

    marker = tmp_path / "executed"
    payload = Payload(marker)
    for name in ("evil.safetensors", "evil.pt", "evil.ckpt", "evil.bin"):
        (tmp_path / name).write_bytes(pickle.dumps(payload))
        for plugin in ("vae", "ddpm"):
            assert main(["run", "--plugin", plugin, "--protocol", "digits", "--checkpoint", str(tmp_path / name),
                         "--results-dir", str(tmp_path / "results"), "--quiet", "--device", "cpu"]) == 2
            assert capsys.readouterr().err.startswith(f"genbench: error: checkpoint {tmp_path / name} is not")
    # a real process, to see all it prints: the libraries' warnings and progress bars are held back
    pipeline = pipeline_with_pickled_weights(tmp_path / "pipeline", payload)
    done = genbench("run", "--plugin", "ddpm", "--protocol", "digits", "--checkpoint", str(pipeline),
                    "--results-dir", str(tmp_path / "results"), "--quiet", "--device", "cpu")
    assert done.returncode == 2
    assert done.stderr.startswith("genbench: error: ") and str(pipeline) in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr  # no library warnings or progress bars before it
    assert not marker.exists()
    assert everything(tmp_path / "results") == set()
