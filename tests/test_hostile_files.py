"""Files a careless or hostile user hands genbench: FIFOs, devices, directories, loops and huge or malformed
records never hang it, eat its memory or stop a whole site; each is one line naming the file."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from leaderboard_records import make_record, write_records

from genbench.cli import main
from genbench.leaderboard import build_leaderboard


def finishes(function, *args, timeout: float = 60):
    """``function(*args)``'s result, failing the test (instead of hanging it) when it blocks."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = function(*args)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"{function.__name__} blocked"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.fixture
def results(tmp_path):
    return write_records(tmp_path / "results", [make_record("good", fd=3.25)])


def left_out(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("genbench: left out: ")]


def test_a_fifo_or_a_device_named_json_is_left_out_of_the_site_without_blocking(results, tmp_path, capsys):
    os.mkfifo(results / "fifo.json")
    (results / "zero.json").symlink_to("/dev/zero")
    assert finishes(main, ["leaderboard", "--results-dir", str(results), "--out", str(tmp_path / "site")]) == 0
    assert left_out(capsys) == [
        f"genbench: left out: result file {results / 'fifo.json'} is not a regular file (a FIFO, device or socket)",
        f"genbench: left out: result file {results / 'zero.json'} is not a regular file (a FIFO, device or socket)"]
    assert "3.25" in (tmp_path / "site/protocols/digits--fp1.md").read_text(encoding="utf-8")


def test_show_refuses_a_fifo_and_a_device_in_one_line(tmp_path, capsys):
    os.mkfifo(tmp_path / "fifo.json")
    assert finishes(main, ["show", str(tmp_path / "fifo.json")]) == 2
    assert capsys.readouterr().err == (f"genbench: error: result file {tmp_path / 'fifo.json'} is not a regular file "
                                       "(a FIFO, device or socket)\n")
    assert finishes(main, ["show", "/dev/zero"]) == 2
    assert "result file /dev/zero is not a regular file" in capsys.readouterr().err


def test_directories_loops_deep_nesting_and_lone_surrogates_are_left_out_with_their_reason(results, tmp_path, capsys):
    (results / "folder.json").mkdir()
    (results / "loop.json").symlink_to(results / "loop.json")
    (results / "deep.json").write_text("[" * 5000 + "]" * 5000, encoding="utf-8")
    surrogate = make_record("surrogate")
    surrogate["command"] = ["genbench", "run", "--plugin", "caf\udce9"]
    (results / "surrogate.json").write_text(json.dumps(surrogate), encoding="utf-8")  # \udce9 as JSON escapes it
    assert main(["leaderboard", "--results-dir", str(results), "--out", str(tmp_path / "site")]) == 0
    assert left_out(capsys) == [
        f"genbench: left out: result file {results / 'deep.json'} is nested more than 100 levels deep",
        f"genbench: left out: result file {results / 'folder.json'} is a directory, not a file",
        f"genbench: left out: result file {results / 'loop.json'} is a symbolic link that loops",
        f"genbench: left out: result file {results / 'surrogate.json'}: field 'command[3]' holds text that is not "
        "valid Unicode (a lone surrogate)"]
    assert (tmp_path / "site/runs/good.html").is_file()


def test_a_reported_record_lacking_its_source_and_out_of_range_values_are_left_out(results, tmp_path, capsys):
    bare = make_record("reported__bare__01", "paper", status="reported")
    negative = make_record("negative", "evil", fd=-1e308)
    infinite = make_record("infinite", "evil", kid=float("inf"))
    for record in (bare, negative, infinite):
        (results / f"{record['run_id']}.json").write_text(json.dumps(record), encoding="utf-8")
    assert main(["leaderboard", "--results-dir", str(results), "--out", str(tmp_path / "site")]) == 0
    assert left_out(capsys) == [
        f"genbench: left out: result file {results / 'infinite.json'}: field 'metrics.kid.value' must be a finite "
        "number, got Infinity",
        f"genbench: left out: result file {results / 'negative.json'}: field 'metrics.fd.value' is -1e+308, outside "
        "the range of metric 'fid' (0 or more)",
        f"genbench: left out: result file {results / 'reported__bare__01.json'}: a reported record needs field "
        "'reported.source' (where the numbers were published)"]
    index = (tmp_path / "site/index.html").read_text(encoding="utf-8")
    assert "evil" not in (tmp_path / "site/protocols/digits--fp1.html").read_text(encoding="utf-8")
    assert "negative.json" in index


def test_a_directory_named_toml_among_reported_rows_is_one_line(results, tmp_path, capsys):
    reported = tmp_path / "reported"
    (reported / "folder.toml").mkdir(parents=True)
    assert main(["leaderboard", "--results-dir", str(results), "--reported-dir", str(reported),
                 "--out", str(tmp_path / "site")]) == 2
    assert capsys.readouterr().err == f"genbench: error: reported file {reported / 'folder.toml'} is a directory, " \
                                      "not a file\n"


def test_the_out_directory_may_be_the_results_directory(results, capsys):
    """Its manifest is JSON too, but it is the builder's own file, never a result left out."""
    for _ in range(2):
        assert main(["leaderboard", "--results-dir", str(results), "--out", str(results)]) == 0
        assert left_out(capsys) == []


def test_protocols_that_are_not_regular_small_files_are_one_line(tmp_path, capsys):
    os.mkfifo(tmp_path / "fifo.toml")
    (tmp_path / "big.toml").write_text("# " + "x" * (2 * 1024 * 1024), encoding="utf-8")
    (tmp_path / "folder.toml").mkdir()
    cases = {"/dev/zero": "protocol file /dev/zero is not a regular file (a FIFO, device or socket)",
             str(tmp_path / "fifo.toml"): f"protocol file {tmp_path / 'fifo.toml'} is not a regular file",
             str(tmp_path / "big.toml"): f"protocol file {tmp_path / 'big.toml'} is larger than 1 MiB, the most a "
                                          "protocol file may be",
             str(tmp_path / "folder.toml"): f"protocol file {tmp_path / 'folder.toml'} is a directory, not a file",
             str(tmp_path): f"protocol file {tmp_path} is a directory, not a file"}
    for protocol, message in cases.items():
        arguments = ["run", "--plugin", "vae", "--protocol", protocol, "--results-dir", str(tmp_path / "r")]
        assert finishes(main, arguments) == 2, protocol
        assert message in capsys.readouterr().err
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_a_fifo_as_checkpoint_is_one_line_and_does_not_block(tmp_path, capsys):
    os.mkfifo(tmp_path / "model.safetensors")
    arguments = ["run", "--plugin", "vae", "--protocol", "digits", "--checkpoint", str(tmp_path / "model.safetensors"),
                 "--results-dir", str(tmp_path / "r")]
    assert finishes(main, arguments) == 2
    assert capsys.readouterr().err.endswith(f"checkpoint {tmp_path / 'model.safetensors'} is not a regular file "
                                            "(a FIFO, device or socket)\n")


def test_reading_a_regular_file_is_bounded_before_anything_is_parsed(tmp_path):
    from genbench.errors import ResultsError
    from genbench.storage.files import read_regular_file

    path = tmp_path / "data.bin"
    path.write_bytes(b"x" * 11)
    assert read_regular_file(path, 11, "file", ResultsError) == b"x" * 11
    with pytest.raises(ResultsError, match=r"data.bin is larger than 10 bytes, the most a file may be$"):
        read_regular_file(path, 10, "file", ResultsError)
    with pytest.raises(ResultsError, match=r"file .*missing.bin does not exist$"):
        read_regular_file(Path(tmp_path / "missing.bin"), 10, "file", ResultsError)


def test_symbolic_link_loops_are_named_as_loops(tmp_path, capsys):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "model.safetensors").symlink_to(tmp_path / "model.safetensors")
    assert main(["run", "--plugin", "vae", "--protocol", "digits", "--results-dir", str(tmp_path / "loop")]) == 2
    assert capsys.readouterr().err == f"genbench: error: results directory {tmp_path / 'loop'} is a symbolic link " \
                                      "that loops\n"
    assert main(["run", "--plugin", "vae", "--protocol", "digits", "--results-dir", str(tmp_path / "r"),
                 "--checkpoint", str(tmp_path / "model.safetensors")]) == 2
    assert capsys.readouterr().err.endswith(f"checkpoint {tmp_path / 'model.safetensors'} is a symbolic link that "
                                            "loops\n")
