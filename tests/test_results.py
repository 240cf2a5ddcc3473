"""Result files: atomic, concurrent writers never clash, unreadable files are named, pandas view."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

import genbench
from genbench.errors import ResultsError
from genbench.storage.results import RESULT_SCHEMA_VERSION, load_results, new_run_id, read_result, write_result


def record(run_id: str, fd: float) -> dict:
    return {
        "schema_version": RESULT_SCHEMA_VERSION, "run_id": run_id, "status": "measured",
        "protocol": {"name": "digits", "version": 1, "fingerprint": "abc"},
        "plugin": {"name": "vae", "version": "0.1.0", "settings": {}},
        "samples": {"num_samples": 10},
        "metrics": {"fd": {"value": fd, "std": None}, "kid": {"value": 0.1, "std": 0.01}},
        "speed": {"network_evaluations_per_image": 1,
                  "by_batch_size": {"1": {"seconds_per_image": 0.5, "images_per_second": 2.0}}},
        "parameters": {"all": 10, "trainable": 8},
        "training": None,
        "environment": {"hardware": {"device": "cpu"}},
        "finished_at": "2026-11-25T00:00:00+00:00",
        "payload": "x" * 200_000,  # big enough that a torn write would be visible
    }


def _write_many(args: tuple[str, int]) -> list[str]:
    directory, worker = args
    ids = []
    for i in range(20):
        run_id = new_run_id("digits", f"vae{worker}")
        write_result(Path(directory), record(run_id, float(worker * 100 + i)))
        ids.append(run_id)
    return ids


def test_concurrent_writers_all_land_intact(tmp_path):
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        written = [i for ids in pool.map(_write_many, [(str(tmp_path), 1), (str(tmp_path), 2)]) for i in ids]
    assert len(set(written)) == 40
    files = sorted(tmp_path.glob("*.json"))
    assert [f.stem for f in files] == sorted(written)
    assert all(read_result(f)["payload"] == "x" * 200_000 for f in files)
    assert not list(tmp_path.glob(".*.tmp"))


def test_load_results_is_one_row_per_run(tmp_path):
    write_result(tmp_path, record("b", 2.0))
    write_result(tmp_path, record("a", 1.0))
    table = load_results(tmp_path)
    assert list(table["run_id"]) == ["a", "b"]
    assert list(table["fd"]) == [1.0, 2.0]
    assert list(table["kid_std"]) == [0.01, 0.01]
    assert table.loc[0, "seconds_per_image_b1"] == 0.5 and table.loc[0, "parameters_trainable"] == 8


def test_load_results_skips_an_unreadable_file_with_a_warning_naming_it(tmp_path):
    write_result(tmp_path, record("a", 1.0))
    (tmp_path / "half-written.json").write_text('{"schema_version": 2, "run_id"', encoding="utf-8")
    with pytest.warns(UserWarning, match=r"half-written.json is not valid JSON"):
        table = genbench.load_results(tmp_path)
    assert list(table["run_id"]) == ["a"]
    with pytest.raises(ResultsError, match=r"half-written.json is not valid JSON"):
        genbench.load_results(tmp_path, strict=True)


def test_unreadable_result_files_are_named(tmp_path):
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(ResultsError, match=r"result file .*broken.json is not valid JSON"):
        read_result(tmp_path / "broken.json")
    (tmp_path / "other.json").write_text(json.dumps({"a": 1}), encoding="utf-8")
    with pytest.raises(ResultsError, match=r"other.json is not a genbench result \(no schema_version\)"):
        read_result(tmp_path / "other.json")
    (tmp_path / "future.json").write_text(json.dumps({"schema_version": 99}), encoding="utf-8")
    with pytest.raises(ResultsError, match=r"has schema 99; this genbench reads up to 2"):
        read_result(tmp_path / "future.json")
    with pytest.raises(ResultsError, match=r"results directory .*nowhere does not exist"):
        load_results(tmp_path / "nowhere")


def test_atomic_writes_keep_the_old_file_on_failure_and_use_normal_permissions(tmp_path):
    from genbench.storage.files import atomic_path, atomic_write_text

    target = tmp_path / "r.json"
    atomic_write_text(target, "old")
    assert target.stat().st_mode & 0o777 == 0o666 & ~_umask()
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["r.json"]


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask
