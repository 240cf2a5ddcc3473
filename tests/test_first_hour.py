"""A new user's first hour: re-runs are one leaderboard entry, --threads, API names = CLI names, closed pipes."""

from __future__ import annotations

import inspect
import json
import pydoc
import subprocess
import sys

import pytest
import torch
from leaderboard_records import make_record, write_records
from tests_support import SMALL, metric_values

import genbench
from genbench.cli import build_parser, main
from genbench.leaderboard import build_leaderboard, export_tables


@pytest.fixture
def torch_threads():
    """Tests that set torch's thread count give the original back."""
    before = torch.get_num_threads()
    yield before
    torch.set_num_threads(before)


def test_runs_of_one_identity_are_one_entry_that_says_how_often_and_whether_it_agreed(tmp_path):
    records = [make_record(f"digits__vae__{n}", "vae", fd=15.3, checkpoint_sha256="aa" * 32,
                           finished_at=f"2026-11-2{n}T10:00:00+00:00") for n in (1, 2, 3)]
    records += [make_record(f"digits__ddim__{n}", "ddim", fd=fd, checkpoint_sha256="bb" * 32,
                            settings={"steps": 20}, finished_at=f"2026-11-2{n}T11:00:00+00:00")
                for n, fd in ((1, 6.5), (2, 6.7))]
    other_seed = make_record("digits__vae__9", "vae", fd=15.3, checkpoint_sha256="aa" * 32)
    other_seed["samples"]["seed"] = 7
    results = write_records(tmp_path / "results", records + [other_seed])

    table = export_tables(results, None, "md", "leaderboard")
    rows = [line for line in table.splitlines() if line.startswith("|") and "vae" in line or "ddim (" in line]
    assert len(rows) == 3, table  # vae seed 0, vae seed 7, ddim steps=20
    assert sum("3 runs, identical" in row for row in rows) == 1
    assert sum("1 run " in row or "1 run|" in row for row in rows) == 1
    assert sum("2 runs, numbers differ" in row for row in rows) == 1
    assert "| 6.50 " in table and "6.70" not in table  # the entry shows the oldest run

    site = tmp_path / "site"
    summary = build_leaderboard(results, site)
    assert summary.runs == 6  # result files read; the pages show 3 entries
    assert sorted(p.name for p in (site / "runs").glob("*.html")) == [
        "digits__ddim__1.html", "digits__vae__1.html", "digits__vae__9.html"]
    page = (site / "runs" / "digits__vae__1.html").read_text(encoding="utf-8")
    assert "3 runs, identical: digits__vae__2, digits__vae__3" in page


def test_a_rerun_with_threads_is_recorded_and_reproduces_the_entry(vae_checkpoint, tmp_path, torch_threads, capsys):
    results = tmp_path / "results"
    first = genbench.run(plugin="vae", protocol="digits", checkpoint=vae_checkpoint, results_dir=results,
                         settings=SMALL, threads=1, quiet=True, cache_dir=tmp_path / "cache")
    assert torch.get_num_threads() == 1
    assert first["environment"]["threads"] == 1
    torch.set_num_threads(2)
    assert main(["run", "--plugin", "vae", "--protocol", "digits", "--checkpoint", str(vae_checkpoint),
                 "--results-dir", str(results), "--threads", "1", "--quiet", "--cache-dir", str(tmp_path / "cache"),
                 *(f"--set={k}={v}" for k, v in SMALL.items())]) == 0
    records = [json.loads(p.read_text()) for p in sorted(results.glob("*.json"))]
    assert len(records) == 2 and all(r["environment"]["threads"] == 1 for r in records)
    assert metric_values(records[0]) == metric_values(records[1])
    capsys.readouterr()
    table = export_tables(results, None, "md", "leaderboard")
    assert table.count("| vae ") == 1 and "2 runs, identical" in table


def test_genbench_threads_from_the_environment_and_bad_counts_are_one_line(monkeypatch, tmp_path, torch_threads, capsys):
    from genbench.evaluation.device import use_threads

    monkeypatch.setenv("GENBENCH_THREADS", "1")
    assert use_threads() == 1 and torch.get_num_threads() == 1
    assert use_threads(2) == 2  # the option wins over the environment
    monkeypatch.setenv("GENBENCH_THREADS", "many")
    assert main(["run", "--plugin", "vae", "--protocol", "digits", "--results-dir", str(tmp_path / "r")]) == 2
    assert capsys.readouterr().err == "genbench: error: GENBENCH_THREADS must be a positive integer, got 'many'\n"
    monkeypatch.delenv("GENBENCH_THREADS")
    assert main(["score", "--protocol", "digits", "--samples", "x.npz", "--threads", "0"]) == 2
    assert capsys.readouterr().err == "genbench: error: --threads must be a positive integer, got 0\n"
    assert not (tmp_path / "r").exists()


def test_the_python_api_takes_the_command_lines_names_and_help_lists_them():
    run_parser = next(a for a in build_parser()._actions if a.dest == "command").choices["run"]
    options = {a.dest: a.option_strings[0] for a in run_parser._actions if a.dest != "help"}
    parameters = set(inspect.signature(genbench.run).parameters)
    assert not set(options) - parameters, "genbench.run lacks a keyword for these `genbench run` options (add them)"
    assert parameters - set(options) == {"command"}, "genbench.run has keywords `genbench run` does not have"
    text = pydoc.render_doc(genbench.run, renderer=pydoc.plaintext)
    for dest, flag in options.items():
        assert f"{dest} ({flag})" in text
    sweep_parser = next(a for a in build_parser()._actions if a.dest == "command").choices["sweep"]
    assert {a.dest for a in sweep_parser._actions} == {a.dest for a in run_parser._actions}


def _closed_pipe(*args: str) -> subprocess.CompletedProcess:
    """``genbench ARGS | head -0``: the reader is gone before the command writes a byte."""
    process = subprocess.Popen([sys.executable, "-m", "genbench", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    process.stdout.close()
    stderr = process.stderr.read()
    process.wait()
    return subprocess.CompletedProcess(args, process.returncode, "", stderr)


@pytest.mark.parametrize("command", [
    ("show", "{result}"), ("leaderboard", "--results-dir", "{results}", "--format", "md"), ("list",),
    ("run", "--help"),
])
def test_every_command_survives_a_closed_pipe(tmp_path, command):
    results = write_records(tmp_path / "results", [make_record("digits__vae__1")])
    args = [part.format(result=results / "digits__vae__1.json", results=results) for part in command]
    done = _closed_pipe(*args)
    assert done.stderr == ""
    assert done.returncode == (0 if "--help" in args else 141)  # argparse itself ignores a failed help write


def test_output_read_to_the_end_is_unchanged(tmp_path):
    results = write_records(tmp_path / "results", [make_record("digits__vae__1")])
    done = subprocess.run([sys.executable, "-m", "genbench", "show", str(results / "digits__vae__1.json")],
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("run        digits__vae__1\n")
