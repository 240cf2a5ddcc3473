"""Ordinary environment problems and interruptions: one accurate line each, early, and nothing written where the
user did not ask for it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from leaderboard_records import make_record, write_records
from tests_support import SMALL

import genbench
from genbench.cli import main
from genbench.leaderboard import build_leaderboard


def settings_args(settings: dict[str, str]) -> list[str]:
    return [argument for key, value in settings.items() for argument in ("--set", f"{key}={value}")]


def test_genbench_debug_0_means_off(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("GENBENCH_DEBUG", "0")
    assert main(["show", str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err == f"genbench: error: result file {tmp_path / 'missing.json'} does not exist\n"
    monkeypatch.setenv("GENBENCH_DEBUG", "1")
    with pytest.raises(Exception):
        main(["show", str(tmp_path / "missing.json")])


def test_an_interrupted_show_or_leaderboard_does_not_speak_of_shards(monkeypatch, tmp_path, capsys):
    import genbench.cli.commands.show as show

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("genbench.storage.results.read_result", interrupted)
    assert main(["show", str(tmp_path / "x.json")]) == 130
    assert capsys.readouterr().err == "genbench: interrupted\n"
    results = write_records(tmp_path / "results", [make_record("a")])
    monkeypatch.setattr("genbench.leaderboard.site.scan_result_files", interrupted)
    assert main(["leaderboard", "--results-dir", str(results), "--out", str(tmp_path / "site")]) == 130
    assert capsys.readouterr().err == "genbench: interrupted\n"
    assert show.NAME == "show"


def test_a_run_interrupted_while_training_says_nothing_is_kept(monkeypatch, tmp_path, capsys):
    from genbench_models.vae import BetaVAE

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(BetaVAE, "train", interrupted)
    arguments = ["run", "--plugin", "vae", "--protocol", "digits", "--results-dir", str(tmp_path / "r"), "--quiet",
                 *settings_args(SMALL)]
    assert main(arguments) == 130
    assert capsys.readouterr().err == ("genbench: interrupted while training: a training is not resumed; the same "
                                       "command trains again from the start\n")


def test_a_run_interrupted_while_sampling_says_where_its_shards_are(monkeypatch, tmp_path, vae_checkpoint, capsys):
    from genbench.runner import sampling

    original, calls = sampling.run_shard, []

    def second_interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(sampling, "run_shard", second_interrupted)
    arguments = ["run", "--plugin", "vae", "--protocol", "digits", "--checkpoint", str(vae_checkpoint),
                 "--results-dir", str(tmp_path / "r"), "--quiet", *settings_args(SMALL)]
    assert main(arguments) == 130
    err = capsys.readouterr().err
    work = next((tmp_path / "r" / ".work").iterdir())
    assert err == (f"genbench: interrupted while sampling: 1 of 2 shards are kept in {work}; the same command "
                   "resumes from them\n")


def test_sigterm_while_sampling_exits_143_keeps_the_shards_and_the_rerun_resumes(tmp_path, vae_checkpoint):
    env = {**os.environ, "GENBENCH_THREADS": "1"}  # as the runs below: this CPU's kernels round by thread count
    arguments = [sys.executable, str(Path(__file__).with_name("fault_injection.py")), "slow-shards", "1", "run",
                 "--plugin", "vae", "--protocol", "digits", "--checkpoint", str(vae_checkpoint),
                 "--results-dir", str(tmp_path / "r"), "--quiet", "--device", "cpu", *settings_args(SMALL)]
    process = subprocess.Popen(arguments, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not list((tmp_path / "r" / ".work").rglob("shard-000000.safetensors.sha256.json")):
        assert time.monotonic() < deadline and process.poll() is None, "no shard was finished"
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    assert err.splitlines()[-1].startswith("genbench: terminated while sampling: 1 of 2 shards are kept in ")
    assert list((tmp_path / "r").glob("*.json")) == []
    resumed = genbench.run(plugin="vae", protocol="digits", checkpoint=vae_checkpoint, results_dir=tmp_path / "r",
                           quiet=True, settings=SMALL, threads=1)
    clean = genbench.run(plugin="vae", protocol="digits", checkpoint=vae_checkpoint, results_dir=tmp_path / "clean",
                         quiet=True, settings=SMALL, threads=1)
    assert {k: m["value"] for k, m in resumed["metrics"].items()} == {k: m["value"] for k, m in clean["metrics"].items()}


def test_status_lines_go_to_stderr_so_the_table_can_be_redirected(tmp_path, vae_checkpoint, capsys):
    arguments = ["run", "--plugin", "vae", "--protocol", "digits", "--checkpoint", str(vae_checkpoint),
                 "--results-dir", str(tmp_path / "r"), *settings_args(SMALL)]
    assert main(arguments) == 0
    printed = capsys.readouterr()
    assert not [line for line in printed.out.splitlines() if line.startswith("genbench: ")]
    assert any(line.startswith("genbench: result written to ") for line in printed.err.splitlines())
    assert printed.out.splitlines()[0].startswith("run        digits__vae__")


def test_run_pages_publish_no_local_paths(tmp_path):
    record = make_record("a")
    record["plugin"]["checkpoint"] = "/home/alice/secret-project/ckpt/model.safetensors"
    record["command"] = ["genbench", "run", "--results-dir", "/home/alice/secret-project/results"]
    record["protocol"]["source"] = "/home/alice/secret-project/protocols/mine.toml"
    results = write_records(tmp_path / "results", [record])
    build_leaderboard(results, tmp_path / "site")
    page = (tmp_path / "site/runs/a.html").read_text(encoding="utf-8")
    assert "/home/alice" not in page and "secret-project" not in page
    assert "model.safetensors" in page and "mine.toml" in page


def test_an_empty_home_is_one_line_not_a_cache_at_the_root(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("GENBENCH_CACHE", raising=False)
    monkeypatch.setenv("HOME", "")
    assert main(["reference", "--protocol", "digits", "--results-dir", str(tmp_path / "r")]) == 2
    assert capsys.readouterr().err == ("genbench: error: no cache directory: HOME is not set (or empty); set "
                                       "GENBENCH_CACHE or pass --cache-dir\n")


def test_an_unusable_cache_directory_is_refused_before_any_work(tmp_path, vae_checkpoint, capsys):
    (tmp_path / "file").write_text("not a directory")
    arguments = ["run", "--plugin", "vae", "--protocol", "digits", "--checkpoint", str(vae_checkpoint),
                 "--results-dir", str(tmp_path / "r"), "--cache-dir", str(tmp_path / "file" / "cache"), "--quiet",
                 *settings_args(SMALL)]
    assert main(arguments) == 2
    assert capsys.readouterr().err.startswith(f"genbench: error: cache directory {tmp_path / 'file' / 'cache'} "
                                              "cannot be created: ")
    assert not (tmp_path / "r" / ".work").exists()


def test_two_builds_into_one_directory_both_succeed(tmp_path):
    results = write_records(tmp_path / "results", [make_record(f"run{i}", fd=float(i + 1)) for i in range(30)])
    outcomes = [subprocess.Popen([sys.executable, "-m", "genbench", "leaderboard", "--results-dir", str(results),
                                  "--out", str(tmp_path / "site")], stderr=subprocess.PIPE, text=True)
                for _ in range(3)]
    for process in outcomes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    assert json.loads((tmp_path / "site" / ".leaderboard-manifest.json").read_text())


@pytest.mark.parametrize("where", ["shard", "grid", "result"])
def test_a_full_disk_is_one_line_and_the_same_command_finishes_later(where, monkeypatch, tmp_path, vae_checkpoint,
                                                                    capsys):
    import errno

    from PIL import Image

    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    write_bytes, save_image, fsync = Path.write_bytes, Image.Image.save, os.fsync

    def shard_write(self, data):
        if self.name.startswith(".shard-000001"):
            raise full
        return write_bytes(self, data)

    def grid_save(self, target, *args, **kwargs):
        if ".grid.png" in str(target):
            raise full
        return save_image(self, target, *args, **kwargs)

    def result_fsync(fd):
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp") and "__" in os.readlink(f"/proc/self/fd/{fd}"):
            raise full
        return fsync(fd)

    with monkeypatch.context() as patch:
        {"shard": lambda: patch.setattr(Path, "write_bytes", shard_write),
         "grid": lambda: patch.setattr(Image.Image, "save", grid_save),
         "result": lambda: patch.setattr(os, "fsync", result_fsync)}[where]()
        arguments = ["run", "--plugin", "vae", "--protocol", "digits", "--checkpoint", str(vae_checkpoint),
                     "--results-dir", str(tmp_path / "r"), "--quiet", *settings_args(SMALL)]
        assert main(arguments) == 2
    lines = capsys.readouterr().err.splitlines()  # a notice may say what was cleaned up first
    assert all(line.startswith("genbench: ") for line in lines) and lines[-1].startswith("genbench: error: cannot write ")
    assert lines[-1].endswith(": No space left on device (nothing half-written is kept; free space and run the same "
                              "command again)")
    assert list((tmp_path / "r").glob("*.json")) == [] and list((tmp_path / "r").rglob("*.tmp")) == []
    assert main(arguments) == 0
    assert len(list((tmp_path / "r").glob("*.json"))) == 1


def test_a_failed_weights_download_leaves_no_empty_cache_folders(monkeypatch, tmp_path, capsys):
    from genbench.extractors.random_inception import structured_images
    from genbench.storage.images import save_images

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TORCH_HOME", raising=False)
    monkeypatch.delenv("GENBENCH_OFFLINE", raising=False)
    monkeypatch.setattr("genbench.storage.weights.offline", lambda: False)

    def unreachable(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr("torch.hub.download_url_to_file", unreachable)
    folder = tmp_path / "a"
    save_images(structured_images(0, 3, 16, 3), folder)
    assert main(["compare", str(folder), str(folder), "--metrics", "fid"]) == 2
    assert "download failed" in capsys.readouterr().err
    assert not (tmp_path / "home" / ".cache").exists()


@pytest.mark.parametrize("given, expected", [({}, "PASSIVE"), ({"OMP_WAIT_POLICY": "ACTIVE"}, "ACTIVE"),
                                             ({"GOMP_SPINCOUNT": "1000"}, None)])
def test_genbench_makes_waiting_openmp_threads_sleep_unless_the_user_said_otherwise(given, expected):
    """Set before torch starts its threads (importing genbench imports no torch): a busy machine's cores are left
    to the thread that works (bench/bench_load.py measures it)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")} | given
    done = subprocess.run([sys.executable, "-c", "import os, sys, genbench; "
                           "print(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)"],
                          capture_output=True, text=True, env=env, check=True)
    assert done.stdout.split() == [str(expected), "False"]


def test_a_run_on_a_busy_machine_on_torchs_default_threads_is_told_how_to_go_faster(monkeypatch):
    """Not fitted silently: the thread count is recorded and enters a training's identity, so a load-dependent
    default would make the same command train and score differently from one minute to the next."""
    import torch

    from genbench.evaluation import device

    monkeypatch.delenv("GENBENCH_THREADS", raising=False)
    monkeypatch.setattr(device, "cpu_count", lambda: 2)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (3.9, 3.0, 2.0))
    assert device.busy_machine_hint(None) == (
        "the machine is busy (load 3.9 on 2 CPUs) and torch runs 2 threads: --threads 1 (or GENBENCH_THREADS=1) is "
        "often faster on a busy machine (bench/README.md); the result records the thread count")
    assert device.busy_machine_hint(2) is None  # asked for: the user knows
    monkeypatch.setenv("GENBENCH_THREADS", "2")
    assert device.busy_machine_hint(None) is None
    monkeypatch.delenv("GENBENCH_THREADS")
    monkeypatch.setattr(os, "getloadavg", lambda: (1.2, 1.0, 1.0))
    assert device.busy_machine_hint(None) is None  # idle enough
