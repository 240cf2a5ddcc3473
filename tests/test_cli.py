"""The command line: complete help, listings, one-line errors with exit status 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from genbench.cli import COMMANDS, build_parser, main


def genbench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "genbench", *args], capture_output=True, text=True)


def test_every_command_has_help(capsys):
    for name in COMMANDS:
        with pytest.raises(SystemExit) as done:
            main([name, "--help"])
        assert done.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: genbench {name}")
    help_text = build_parser().format_help()
    assert all(name in help_text for name in COMMANDS)


def test_list_shows_plugins_with_their_distribution(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "vae          genbench" in out
    assert re.search(r"^  digits +v2 \[unconditional\]", out, re.M)
    for section in ("Plugins:", "Models:", "Protocols:", "Datasets:", "Extractors:", "Metrics:"):
        assert section in out


def test_errors_are_one_line_with_exit_status_2(tmp_path):
    done = genbench("run", "--plugin", "vea", "--protocol", "digits", "--results-dir", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr == "genbench: error: unknown model plugin 'vea'; did you mean: vae, cvae?\n"
    done = genbench("run", "--plugin", "vae", "--protocol", "digitz", "--results-dir", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr == "genbench: error: unknown protocol 'digitz'; did you mean: digits, digits-classes?\n"
    assert list(tmp_path.iterdir()) == []


def test_show_prints_a_result_as_table_and_json(tmp_path, capsys):
    from tests_support import minimal_record

    path = tmp_path / "r.json"
    path.write_text(json.dumps(minimal_record()), encoding="utf-8")
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "protocol   digits v1  fingerprint abc" in out
    assert "fd ↓" in out and "1.5" in out
    assert main(["show", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["run_id"] == "r"
    assert main(["show", str(tmp_path / "none.json")]) == 2
    assert "result file" in capsys.readouterr().err


def test_list_reports_a_broken_plugin_with_its_error(plugin_installer, capsys):
    plugin_installer.install("broken-gen", "broken", "broken_list_plugin", "raise RuntimeError('no GPU driver')\n")
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "broken       broken-gen 1.0  (broken_list_plugin)  ERROR: failed to import: RuntimeError: no GPU driver" in out
    assert "vae          [unconditional]" in out


def test_run_then_show_from_the_command_line(tmp_path):
    from tests_support import FAST

    sets = [arg for key, value in FAST.items() for arg in ("--set", f"{key}={value}")]
    done = genbench("run", "--plugin", "vae", "--protocol", "digits", "--results-dir", str(tmp_path),
                    "--quiet", "--device", "cpu", *sets)
    assert done.returncode == 0, done.stderr
    result = next(tmp_path.glob("digits__vae__*.json"))
    assert f"result: {result}" in done.stdout
    assert "fd ↓" in done.stdout and "share > 0.8" in done.stdout
    record = json.loads(result.read_text(encoding="utf-8"))
    assert record["command"][:5] == ["genbench", "run", "--plugin", "vae", "--protocol"]
    shown = genbench("show", str(result))
    assert shown.returncode == 0 and record["run_id"] in shown.stdout
