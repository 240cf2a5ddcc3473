"""Every bad input in ``tests/bad_inputs.toml`` gets its exit status and one clear line, never a traceback."""

from __future__ import annotations

import os
import pickle
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch
from test_pixel_datasets import write_cifar10, write_fashion_mnist, write_flowers102

from genbench.cli import main

#: Data copies a case may write under ``{tmp}/data`` (``data = { KIND = { ARGUMENT = VALUE } }``), in the official formats.
DATA_COPIES = {"fmnist": write_fashion_mnist, "cifar10": write_cifar10, "flowers102": write_flowers102}
CASES = tomllib.loads(Path(__file__).with_name("bad_inputs.toml").read_text(encoding="utf-8"))["case"]


class Payload:
    def __reduce__(self):
        return os.system, ("echo unpickled > /dev/null",)


def skip_reason(needs: str | None) -> str | None:
    if needs == "no-cuda" and torch.cuda.is_available():
        return "a CUDA device is present"
    if needs == "not-root" and os.geteuid() == 0:
        return "root can write anywhere"
    return None


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_bad_input(case, tmp_path, vae_checkpoint, capsys):
    if reason := skip_reason(case.get("needs")):
        pytest.skip(reason)
    pickled = tmp_path / "payload.safetensors"
    pickled.write_bytes(pickle.dumps(Payload()))
    (tmp_path / "payload.pkl").write_bytes(pickle.dumps(Payload()))

    def expand(text: str) -> str:
        return text.replace("{tmp}", str(tmp_path)).replace("{checkpoint}", str(vae_checkpoint)) \
            .replace("{pickle}", str(pickled)).replace("{pickle_pkl}", str(tmp_path / "payload.pkl"))

    for name, content in case.get("files", {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content, encoding="utf-8")
    for name, arrays in case.get("arrays", {}).items():
        np.savez(tmp_path / name, **{key: np.full(a["shape"], a.get("fill", 0), dtype=a["dtype"])
                                     for key, a in arrays.items()})
    for kind, arguments in case.get("data", {}).items():
        DATA_COPIES[kind](tmp_path / "data", **arguments)
    for name in case.get("dirs", []):
        (tmp_path / name).mkdir(mode=0o500 if case.get("needs") == "not-root" else 0o777)
    usage_error = False
    try:
        status = main([expand(arg) for arg in case["args"]])
    except SystemExit as exit_:  # argparse: a usage line, then its error line
        status, usage_error = exit_.code, True
    err = capsys.readouterr().err
    assert status == case.get("exit", 2), err
    lines = err.strip().splitlines()
    assert lines and expand(case["message"]) in lines[-1], err
    assert "Traceback" not in err
    if not usage_error:  # genbench's own: one error line, after at most genbench's own notices
        assert lines[-1].startswith("genbench: error: ") and all(line.startswith("genbench: ") for line in lines), err
        assert sum(line.startswith("genbench: error: ") for line in lines) == 1, err


def test_the_table_covers_what_the_issue_lists():
    names = {case["name"] for case in CASES}
    assert len(CASES) >= 40
    assert {"--batch-size 0", "--batch-size -3", "show: schema_version as a string", "unknown plugin",
            "checkpoint of another plugin", "setting of the wrong type", "unavailable device",
            "unwritable results directory", "protocol file that is not TOML", "too few samples",
            "leaderboard --strict with an unreadable file", "compare: empty folder, no weights anywhere"} <= names
