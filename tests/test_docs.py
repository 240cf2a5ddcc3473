"""The documentation is part of the product: generated blocks are fresh, every command line shown parses,
every TOML block parses, and the plugin guide's example package installs, lists and runs."""

from __future__ import annotations

import json
import math
import re
import shlex
import tomllib
from pathlib import Path

import pytest

from genbench.cli import COMMANDS as COMMAND_NAMES
from genbench.cli import build_parser, docgen, main
from genbench.storage.results import RESULT_FIELDS

DOCS = docgen.documentation_files()
FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```", re.S | re.M)
SHELL_FENCES = {"console", "bash", "sh", "shell", "text", ""}
INLINE = re.compile(r"`((?:python -m )?genbench [^`]+)`")


def _blocks(info: set[str]) -> list[tuple[Path, str]]:
    return [(path, m["body"]) for path in DOCS for m in FENCE.finditer(path.read_text(encoding="utf-8"))
            if m["info"].strip().split(" ")[0] in info]


def command_lines() -> list[tuple[Path, str]]:
    """Every ``genbench ...`` command shown: shell lines in code blocks (``$ `` prompts, ``torchrun ... -m
    genbench``) and inline code in prose; comments after `` # `` are dropped."""
    found = []
    for path, body in _blocks(SHELL_FENCES):
        for line in body.splitlines():
            line = line.strip().removeprefix("$ ")
            command = re.search(r"(?:^|\s-m |^python -m )genbench (.*)", line)
            if command and (line.startswith(("genbench ", "python -m genbench ")) or " -m genbench " in line):
                found.append((path, re.split(r" [#|] ", command[1])[0].strip()))
    for path in DOCS:
        prose = FENCE.sub("", path.read_text(encoding="utf-8"))
        found += [(path, re.split(r" [#|] ", text.split("genbench ", 1)[1])[0]) for text in INLINE.findall(prose)]
    return found


COMMANDS = command_lines()


def test_the_documentation_is_found():
    assert {p.name for p in DOCS} >= {"README.md", "index.md", "plugins.md", "protocols.md", "results.md", "cli.md",
                                       "leaderboards.md"}
    assert len(COMMANDS) > 30


def test_generated_blocks_match_the_code():
    assert [str(p.relative_to(docgen.ROOT)) for p in docgen.stale_files()] == [], "run `make docs`"


@pytest.mark.parametrize(("path", "line"), COMMANDS, ids=[f"{p.name}: genbench {c}" for p, c in COMMANDS])
def test_every_command_line_shown_parses(path, line, capsys):
    parser = build_parser()
    if " " not in line.strip() and not line.startswith("-"):  # a command named in prose (`genbench sweep`): it must exist
        assert line.strip() in COMMAND_NAMES, f"{path.name}: no command `genbench {line}`"
        return
    try:
        parser.parse_args(shlex.split(line))
    except SystemExit as done:  # --help and --version exit 0; anything else is a usage error
        assert done.code == 0, f"{path.name}: `genbench {line}` does not parse: {capsys.readouterr().err.strip()}"


@pytest.mark.parametrize(("path", "body"), _blocks({"toml"}), ids=lambda v: v.name if isinstance(v, Path) else "")
def test_every_toml_block_parses(path, body):
    tomllib.loads(body)


def test_complete_protocols_shown_are_valid():
    from genbench.protocols.protocol import parse_protocol

    shown = [(path, tomllib.loads(body)) for path, body in _blocks({"toml"})]
    complete = [(path, raw) for path, raw in shown if {"name", "task", "sampling"} <= set(raw)]
    assert complete, "docs/protocols.md shows a complete protocol"
    for path, raw in complete:
        parse_protocol(raw, source=path.name)


def test_images_shown_exist():
    images = [(path, m[1]) for path in DOCS for m in re.finditer(r"!\[[^\]]*\]\(([^)]+)\)", path.read_text("utf-8"))]
    assert ("README.md", "docs/leaderboard.png") in [(p.name, src) for p, src in images]
    for path, src in images:
        assert (path.parent / src).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name}: {src}"


def _guide_files() -> dict[str, str]:
    """``<!-- file: PATH -->`` followed by a code block, in docs/plugins.md: PATH -> contents."""
    text = (docgen.ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    return {m[1]: m[2] for m in re.finditer(r"<!-- file: (\S+) -->\n```[a-z]*\n(.*?)^```", text, re.S | re.M)}


def test_the_plugin_guides_package_installs_lists_and_runs(plugin_installer, tmp_path, capsys):
    files = _guide_files()
    project = tomllib.loads(files["my-gen/pyproject.toml"])["project"]
    (entry_point, module), = project["entry-points"]["genbench"].items()
    plugin_installer.install(project["name"], entry_point, module, files[f"my-gen/{module}.py"], project["version"])

    assert main(["list"]) == 0
    listing = capsys.readouterr().out
    assert re.search(r"^  noise +my-gen 0\.1\.0  \(my_gen\)$", listing, re.M), listing
    assert re.search(r"^  noise +\[unconditional\] squashed Gaussian noise baseline", listing, re.M)

    shown = next(c for p, c in COMMANDS if p.name == "plugins.md" and c.startswith("run --plugin noise"))
    assert main([*shlex.split(shown), "--results-dir", str(tmp_path / "results"), "--quiet"]) == 0
    capsys.readouterr()
    (result,) = (tmp_path / "results").glob("*.json")
    record = json.loads(result.read_text(encoding="utf-8"))
    assert record["plugin"]["distribution"] == "my-gen" and record["plugin"]["settings"] == {"temperature": 0.5}
    assert record["protocol"]["name"] == "digits" and record["training"]["epochs"] == 0
    assert all(math.isfinite(m["value"]) for m in record["metrics"].values())
    assert record["metrics"]["fd"]["value"] > 10  # noise is far from digits

    # every field and key of a real record is documented in genbench.storage.results.RESULT_FIELDS (docs/results.md)
    assert set(record) <= set(RESULT_FIELDS), set(record) - set(RESULT_FIELDS)
    for name, keys in ((n, spec.keys) for n, spec in RESULT_FIELDS.items()):
        if keys and isinstance(record.get(name), dict):
            assert set(record[name]) <= set(keys), f"{name}: {set(record[name]) - set(keys)} undocumented"


README = docgen.ROOT / "README.md"


def digits_fingerprint() -> str:
    """The digits protocol's fingerprint on this machine (its reference data and pinned classifier)."""
    from genbench.evaluation.options import ProtocolOptions
    from genbench.evaluation.session import open_evaluation
    from genbench.registry import get_registry

    registry = get_registry()
    return open_evaluation(registry.protocol("digits"), ProtocolOptions(protocol="digits"), registry,
                           print).fingerprint


def test_the_readmes_run_shows_the_current_digits_fingerprint():
    shown = re.search(r"^protocol   digits v\d+  fingerprint ([0-9a-f]{16})$", README.read_text("utf-8"), re.M)
    assert shown and shown[1] == digits_fingerprint(), \
        "run `genbench run --plugin vae --protocol digits` and paste its output into README.md"


def test_the_demo_sites_real_images_row_is_on_the_current_digits_fingerprint():
    """The reference row of leaderboards/reported/digits.toml is shown on the digits page only while its
    fingerprint is the protocol's; an old one puts it on a page of its own that no run shares."""
    current = digits_fingerprint()
    rows = tomllib.loads((docgen.ROOT / "leaderboards" / "reported" / "digits.toml").read_text("utf-8"))["rows"]
    assert [row["fingerprint"] for row in rows] == [current], "re-measure the row with `genbench score` (see the file)"


def test_the_readmes_demo_table_is_the_committed_demo_results():
    rows = re.findall(r"^\| (vae|ddpm|ddim) +\| ([0-9.]+) \| ([0-9.]+) \|", README.read_text("utf-8"), re.M)
    assert [plugin for plugin, _, _ in rows] == ["vae", "ddpm", "ddim"]
    results = [json.loads(p.read_text("utf-8")) for p in (docgen.ROOT / "leaderboards" / "results").glob("*.json")]
    for plugin, fd, kid in rows:
        first = min((r for r in results if r["plugin"]["name"] == plugin), key=lambda r: r["finished_at"])
        assert f"{first['metrics']['fd']['value']:.2f}" == fd and f"{first['metrics']['kid']['value']:.3f}" == kid


def test_the_offline_inception_recipe_in_weights_md_works(tmp_path, monkeypatch):
    """docs/weights.md's way to test a pipeline offline: its one-line script writes random Inception weights under
    the official name, which the inception extractor then refuses without --trust-weights and loads with it."""
    from types import SimpleNamespace

    import torch

    from genbench.errors import WeightsError
    from genbench.extractors.inception import INCEPTION, torch_fidelity_inception
    from genbench.trust.hashing import sha256_file

    scripts = re.findall(r'^python -c "(.+)"$', (docgen.ROOT / "docs" / "weights.md").read_text(encoding="utf-8"), re.M)
    assert len(scripts) == 1, scripts
    monkeypatch.chdir(tmp_path)
    exec(scripts[0], {})
    weights = tmp_path / "weights" / torch_fidelity_inception().filename
    context = SimpleNamespace(device=torch.device("cpu"), weights_dir=tmp_path / "weights", trust_weights=False)
    with pytest.raises(WeightsError, match=r"pass --trust-weights to use it anyway"):
        INCEPTION.build({}, context)
    extractor = INCEPTION.build({}, SimpleNamespace(**{**vars(context), "trust_weights": True}))
    assert extractor.weights_sha256 == sha256_file(weights)
