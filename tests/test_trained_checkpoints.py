"""Checkpoints the results name are the ones used (issue 9 item 8): verified reuse, canonical bytes,
training identity, one training per identity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from tests_support import FAST, metric_values

import genbench
from genbench.models.checkpoints import load_checkpoint, save_checkpoint
from genbench.trust.hashing import sha256_file


def test_identical_models_are_written_to_identical_bytes(tmp_path):
    tensors = {f"layer{i}.weight": torch.full((3, i + 1), float(i)) for i in range(30)}
    tensors["steps"] = torch.arange(4)
    hashes = set()
    for copy in range(6):
        path = tmp_path / f"copy{copy}.safetensors"
        save_checkpoint(path, "vae", {"width": 4, "beta": 1.0}, tensors, {"note": "x"})
        hashes.add(sha256_file(path))
    assert len(hashes) == 1
    loaded = load_checkpoint(tmp_path / "copy0.safetensors", "vae")
    assert all(torch.equal(loaded.tensors[k], v) for k, v in tensors.items()) and loaded.config["width"] == 4


def test_a_damaged_checkpoint_is_never_reused(tmp_path, capsys):
    first = genbench.run(plugin="vae", protocol="digits", results_dir=tmp_path, quiet=True, settings=FAST)
    path = Path(first["plugin"]["checkpoint"])
    assert first["training"]["checkpoint_sha256"] == first["plugin"]["checkpoint_sha256"] == sha256_file(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit in the weights
    path.write_bytes(bytes(data))

    second = genbench.run(plugin="vae", protocol="digits", results_dir=tmp_path, settings=FAST)
    out = capsys.readouterr().err  # status lines go to stderr
    assert (f"not reusing {path}: {path.name} does not match the SHA-256 recorded when it was trained "
            f"(changed or damaged); training again") in out
    # retrained from the same identity: the same bytes again, and the same numbers
    assert second["plugin"]["checkpoint_sha256"] == sha256_file(path) == first["plugin"]["checkpoint_sha256"]
    assert metric_values(second) == metric_values(first)

    (path.with_name(path.name + ".training.json")).write_text("[]", encoding="utf-8")
    genbench.run(plugin="vae", protocol="digits", results_dir=tmp_path, settings=FAST)
    assert "its training report vae-digits-" in capsys.readouterr().err


def test_the_thread_count_is_part_of_the_training_identity(tmp_path):
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = genbench.run(plugin="vae", protocol="digits", results_dir=tmp_path, quiet=True, settings=FAST)
        torch.set_num_threads(2)
        two = genbench.run(plugin="vae", protocol="digits", results_dir=tmp_path, quiet=True, settings=FAST)
    finally:
        torch.set_num_threads(threads)
    assert one["plugin"]["checkpoint"] != two["plugin"]["checkpoint"]
    assert one["training"]["identity"]["environment"]["threads"] == 1
    assert two["training"]["identity"]["environment"]["threads"] == 2
    assert set(one["training"]["identity"]["environment"]["libraries"]) == {"torch", "diffusers", "numpy"}
    report = json.loads(Path(one["plugin"]["checkpoint"] + ".training.json").read_text(encoding="utf-8"))
    assert report["identity"] == one["training"]["identity"]


def test_two_identical_runs_started_together_train_once(tmp_path):
    command = [sys.executable, "-m", "genbench", "run", "--plugin", "vae", "--protocol", "digits",
               "--results-dir", str(tmp_path)]
    for key, value in FAST.items():
        command += ["--set", f"{key}={value}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
            for _ in range(2)]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    log = "\n".join(outputs)
    assert log.count("genbench: training vae") == 1 and log.count("reusing trained checkpoint") == 1
    records = [json.loads(p.read_text(encoding="utf-8")) for p in tmp_path.glob("*.json")]
    assert len(records) == 2
    checkpoint = Path(records[0]["plugin"]["checkpoint"])
    assert {r["plugin"]["checkpoint_sha256"] for r in records} == {sha256_file(checkpoint)}
