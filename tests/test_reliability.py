"""Files genbench wrote that turn out corrupt or of the wrong shape are redone with one line, never trusted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from tests_support import FAST, SMALL, metric_values

import genbench
from genbench.errors import GenbenchError
from genbench.runner import sampling

WRONG_SHAPES = ["[]", '{"sha256": 5}', '{"sha256": "ab"', "null", "\x00\x01garbage"]


def interrupted_run(monkeypatch, results_dir: Path, **common) -> None:
    """A run that stops (Ctrl-C) when its second shard starts, leaving the first shard in ``.work``."""
    original, calls = sampling.run_shard, []

    def stop_at_second(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(sampling, "run_shard", stop_at_second)
        with pytest.raises(KeyboardInterrupt):
            genbench.run(results_dir=results_dir, **common)


@pytest.mark.parametrize("text", WRONG_SHAPES)
def test_read_json_object_calls_every_wrong_shape_corrupt(tmp_path, text):
    from genbench.storage.files import CorruptFile, read_json_object

    path = tmp_path / "record.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CorruptFile):
        read_json_object(path, {"sha256": str})
    with pytest.raises(FileNotFoundError):
        read_json_object(tmp_path / "absent.json", {})


def test_a_shard_record_of_the_wrong_shape_is_redone_with_one_line(tmp_path, vae_checkpoint, monkeypatch, capsys):
    common = dict(plugin="vae", protocol="digits", checkpoint=vae_checkpoint, quiet=True, settings=SMALL)
    clean = genbench.run(results_dir=tmp_path / "clean", **common)
    interrupted_run(monkeypatch, tmp_path / "r", **common)
    record = next((tmp_path / "r" / ".work").rglob("shard-*.safetensors.sha256.json"))
    record.write_text("[]", encoding="utf-8")
    capsys.readouterr()
    assert metric_values(genbench.run(results_dir=tmp_path / "r", **common)) == metric_values(clean)
    err = capsys.readouterr().err
    assert f"genbench: {record.with_name('shard-000000.safetensors')} is corrupt (its record is JSON list, " \
           f"not an object); recomputing it\n" == err


def test_a_cache_record_of_the_wrong_shape_is_recomputed(tmp_path, vae_checkpoint, capsys):
    common = dict(plugin="vae", protocol="digits", checkpoint=vae_checkpoint, quiet=True, settings=SMALL,
                  cache_dir=tmp_path / "cache")
    first = genbench.run(results_dir=tmp_path / "a", **common)
    records = list((tmp_path / "cache" / "reference").glob("*.sha256.json"))
    assert records
    for record in records:
        record.write_text('{"sha256": ["not", "a", "hash"]}', encoding="utf-8")
    capsys.readouterr()
    second = genbench.run(results_dir=tmp_path / "b", **common)
    assert second["reference"]["cache_hits"] == {name: False for name in first["reference"]["cache_hits"]}
    assert metric_values(second) == metric_values(first)
    assert "its record is field 'sha256' is list, not str); recomputing it" in capsys.readouterr().err


def test_a_training_report_of_the_wrong_shape_means_training_again(tmp_path):
    first = genbench.run(plugin="vae", protocol="digits", results_dir=tmp_path, quiet=True, settings=FAST)
    report = Path(first["plugin"]["checkpoint"] + ".training.json")
    report.write_text("[]", encoding="utf-8")
    second = genbench.run(plugin="vae", protocol="digits", results_dir=tmp_path, quiet=True, settings=FAST)
    assert second["training"]["steps"] == 40 and isinstance(json.loads(report.read_text()), dict)  # trained again


def test_a_batch_size_below_one_is_refused_by_the_python_api(tmp_path, vae_checkpoint):
    for bad in (0, -3, 2.5, True):
        with pytest.raises(GenbenchError, match=rf"^batch_size must be a whole number of at least 1, "
                                                          rf"got {bad!r}$"):
            genbench.run(plugin="vae", protocol="digits", checkpoint=vae_checkpoint, results_dir=tmp_path,
                         quiet=True, batch_size=bad)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("load, cpus, threads, expected", [
    (2.3, 2, 2, False),   # alone, every core ours: a little noise is not contention
    (0.9, 16, 1, False),  # a quiet big machine
    (3.0, 2, 1, True),    # two other busy threads on two cores (the two concurrent runs)
    (9.0, 16, 1, False),  # busy, but free cores remain
    (16.6, 16, 16, False),  # alone on every core, with some noise
    (24.0, 16, 16, True),
])
def test_cpu_contention_means_more_runnable_threads_than_cpus_and_not_all_ours(load, cpus, threads, expected):
    from genbench.runner.speed import contended

    snapshot = {"load_average_1min": load, "cpu_count": cpus, "torch_threads": threads}
    assert contended(snapshot, torch.device("cpu")) is expected


def test_gpu_contention_means_another_process_on_the_device():
    from genbench.runner.speed import contended

    busy = {"load_average_1min": 0.5, "cpu_count": 8, "torch_threads": 8,
            "gpu": {"other_processes": 1, "utilization_percent": 97}}
    assert contended(busy, torch.device("cuda:0"))
    assert not contended({**busy, "gpu": {"other_processes": 0, "utilization_percent": 97}}, torch.device("cuda:0"))


def test_a_run_records_the_machine_load_around_the_speed_section(tmp_path, vae_checkpoint, monkeypatch):
    import genbench.runner.speed

    readings = iter([(0.25, 0.2, 0.1), (64.0, 10.0, 3.0)])  # quiet before the timing, busy after it
    monkeypatch.setattr(genbench.runner.speed.os, "getloadavg", lambda: next(readings))
    record = genbench.run(plugin="vae", protocol="digits", checkpoint=vae_checkpoint, results_dir=tmp_path,
                          quiet=True, settings=SMALL, device="cpu",
                          threads=torch.get_num_threads())  # asked for: no busy-machine hint reads the load first
    load = record["speed"]["machine_load"]
    assert load["before"]["load_average_1min"] == 0.25 and load["after"]["load_average_1min"] == 64.0
    assert load["before"]["cpu_count"] == genbench.evaluation.device.cpu_count() >= 1
    assert load["before"]["torch_threads"] == torch.get_num_threads()
    assert record["speed"]["contended"] is True
    assert genbench.load_results(tmp_path).loc[0, "speed_contended"]


def debris(results: Path) -> dict[str, Path]:
    """A results directory as dead runs leave it, beside files that must survive any clean-up."""
    run = "digits__vae__20261201T101500__0123abcd"
    finished = "digits__vae__20261201T101400__89abcdef"
    paths = {
        "result temp": results / f".{run}.json.a1b2c3d4.tmp",
        "grid temp": results / f".{run}.grid.png.zz_9xy8w.tmp",
        "orphan grid": results / f"{run}.grid.png",
        "orphan gallery": results / f"{run}.gallery-03.png",
        "checkpoint temp": results / "checkpoints" / ".vae-digits-0123.safetensors.qwertyui.tmp",
        "shard temp": results / ".work" / "digits-vae-key" / ".shard-000001.safetensors.asdfghjk.tmp",
        "stale work lock": results / ".work" / "digits-vae-key.lock",
        "keep: shard": results / ".work" / "digits-vae-key" / "shard-000000.safetensors",
        "keep: result": results / f"{finished}.json",
        "keep: its grid": results / f"{finished}.grid.png",
        "keep: a user's file": results / "notes.tmp",
        "keep: a user's hidden file": results / ".notes.json.tmp",
        "keep: a user's image": results / "digits__vae__figure.grid.png",
    }
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    (results / f".{run}.samples.abcdefgh.tmp").mkdir()
    (results / f".{run}.samples.abcdefgh.tmp" / "000000.png").write_bytes(b"x")
    paths["samples temp"] = results / f".{run}.samples.abcdefgh.tmp"
    return paths


def test_a_run_alone_removes_only_genbench_debris_and_says_so(tmp_path, capsys):
    from genbench.storage.housekeeping import in_use

    paths = debris(tmp_path)
    with in_use(tmp_path):
        pass
    assert {name for name, path in paths.items() if path.exists()} == {n for n in paths if n.startswith("keep")}
    # 8 removed; the stale lock file is not reported as a leftover of an interrupted run
    assert capsys.readouterr().err.startswith(f"genbench: removed 7 leftover(s) of interrupted runs in {tmp_path}: ")
    assert not (tmp_path / ".genbench.lock").exists()


def test_nothing_is_cleaned_while_another_run_uses_the_directory(tmp_path):
    from genbench.storage.housekeeping import LOCK_FILE, in_use
    from genbench.storage.locks import shared

    paths = debris(tmp_path)
    with shared(tmp_path / LOCK_FILE):  # another live run (flock: another open file description)
        with in_use(tmp_path):
            pass
        assert all(path.exists() for path in paths.values())
    with in_use(tmp_path):
        pass
    assert not paths["result temp"].exists()


def test_a_finished_run_leaves_no_work_directory_and_no_lock(tmp_path, vae_checkpoint):
    results = tmp_path / "results"
    genbench.run(plugin="vae", protocol="digits", checkpoint=vae_checkpoint, results_dir=results, quiet=True,
                 settings=SMALL)
    assert sorted(p.suffix for p in results.iterdir()) == [".json", ".png"]
    assert list((tmp_path / "cache").rglob(".*")) == []  # the feature cache keeps no lock or temp file


def chatter(logger_name: str) -> None:
    """What a library prints while loading: log records through its own stderr handler, a progress line.
    (Python warnings and root-logger records reach stderr the same way outside pytest, which captures
    them itself; tests/test_fault_injection.py sees them held back in a real process.)"""
    import logging
    import sys

    logging.getLogger(logger_name).warning("accelerate is not installed")
    logging.getLogger(logger_name).error("could not fetch unet")
    sys.stderr.write("Loading pipeline components: 50%\n")


@pytest.mark.parametrize("debug", [False, True])
def test_library_output_is_dropped_when_the_load_fails_and_replayed_when_it_succeeds(monkeypatch, capfd, debug):
    import logging
    import sys

    from genbench.runner.quiet import library_output_held

    library = logging.getLogger("some_library")
    handler = logging.StreamHandler(sys.stderr)  # bound at import, as diffusers does
    library.addHandler(handler)
    library.propagate = False
    if debug:
        monkeypatch.setenv("GENBENCH_DEBUG", "1")
    try:
        with pytest.raises(GenbenchError), library_output_held():
            chatter("some_library")
            raise GenbenchError("cannot load")
        failed = capfd.readouterr().err
        with library_output_held():
            chatter("some_library")
        succeeded = capfd.readouterr().err
    finally:
        library.removeHandler(handler)
    for part in ("accelerate is not installed", "could not fetch unet", "Loading pipeline components: 50%"):
        assert part in succeeded
        assert (part in failed) is debug
