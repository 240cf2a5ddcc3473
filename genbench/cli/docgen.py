"""Generated parts of README.md and docs/*.md: what the code already knows is pasted, never retyped.

A block is delimited in the Markdown by ``<!-- generated: NAME -->`` and ``<!-- end generated: NAME -->``;
everything between is replaced by the generator ``NAME`` below (the CLI's ``--help`` from the argparse
parsers, the protocol keys from ``genbench.protocols.protocol.PROTOCOL_KEYS``, the result fields from ``genbench.storage.results``,
the hooks from ``genbench.registry.hookspecs``, the built-ins from the registry).

    python -m genbench.cli.docgen           # rewrite the blocks (what ``make docs`` runs)
    python -m genbench.cli.docgen --check   # exit 1 naming every file whose blocks are stale (what the tests run)
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import sys
from pathlib import Path
from typing import Callable
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"(<!-- generated: (?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- end generated: (?P=name) -->)", re.S)
#: Terminal width the ``--help`` texts are rendered at, so they do not depend on who runs the generator.
HELP_COLUMNS = 100
#: The distribution whose contributions are "built in" (third-party plugins installed here are left out).
BUILTIN_DISTRIBUTION = "genbench"
TOML_TYPES = {str: "string", int: "integer", float: "float", bool: "boolean", list: "array", dict: "table"}


def documentation_files(root: Path = ROOT) -> list[Path]:
    """README.md and every Markdown file under docs/."""
    return [root / "README.md", *sorted((root / "docs").glob("**/*.md"))]


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: tuple[str, ...], rows: list[tuple]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def cli_reference() -> str:
    """``genbench --help`` and every ``genbench COMMAND --help``, as the parsers print them."""
    from genbench.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    with mock.patch.dict(os.environ, {"COLUMNS": str(HELP_COLUMNS)}):
        parts = [f"```text\n$ genbench --help\n{parser.format_help()}```\n"]
        for name, command in commands.items():
            parts.append(f"### genbench {name}\n\n```text\n$ genbench {name} --help\n{command.format_help()}```\n")
    return "\n".join(parts)


def command_summary() -> str:
    """One line per command: its name and what it does."""
    import importlib

    from genbench.cli import COMMANDS

    modules = [importlib.import_module(f"genbench.cli.commands.{name}") for name in COMMANDS]
    return _table(("command", "what it does"), [(f"`genbench {m.NAME}`", m.HELP) for m in modules])


def protocol_keys() -> str:
    """Every protocol table and key from ``genbench.protocols.protocol.PROTOCOL_KEYS``: type, default, meaning."""
    from genbench.protocols.schema import DECLARED_BY, DERIVED, PROTOCOL_KEYS, REQUIRED

    def default(value: object) -> str:
        if value is REQUIRED:
            return "required"
        if value is DERIVED:
            return "derived"
        return "none" if value is None else f"`{json.dumps(value)}`"

    parts = []
    for path, keys in PROTOCOL_KEYS.items():
        parts.append(f"#### {f'`[{path}]`' if path else 'Top level'}\n")
        rows = [(f"`{name}`", TOML_TYPES.get(key.kind, key.kind.__name__) + (" > 0" if key.positive else ""), default(key.default), key.doc)
                for name, key in keys.items()]
        parts.append(_table(("key", "type", "default", "meaning"), rows))
        if path in DECLARED_BY:
            parts.append(f"Also the settings of the `{DECLARED_BY[path]}` it names.\n")
    return "\n".join(parts)


def result_fields() -> str:
    """The result record's top-level fields and the keys of each."""
    from genbench.storage.results import RESULT_FIELDS, RESULT_SCHEMA_VERSION

    rows = [(f"`{name}`", spec.doc, ", ".join(f"`{k}`" for k in spec.keys)) for name, spec in RESULT_FIELDS.items()]
    return f"Schema version {RESULT_SCHEMA_VERSION}.\n\n" + _table(("field", "holds", "keys"), rows)


def hooks() -> str:
    """Each hook of ``genbench.registry.hookspecs`` with the first line of its docstring."""
    from genbench.registry import hookspecs

    rows = [(f"`{name}()`", inspect.getdoc(fn).splitlines()[0]) for name, fn in inspect.getmembers(hookspecs)
            if name.startswith("genbench_") and inspect.isfunction(fn)]
    return _table(("hook", "returns"), rows)


def _builtins(section: str) -> list:
    from genbench.registry import load_registry

    registry = load_registry(autoload=True, trace=False)
    table = getattr(registry, section)
    return [(name, provided.item) for name, provided in sorted(table.items())
            if provided.plugin.distribution == BUILTIN_DISTRIBUTION]


def builtin_models() -> str:
    return _table(("plugin", "task", "what"), [(f"`{n}`", s.task_label, s.description) for n, s in _builtins("models")])


def builtin_protocols() -> str:
    return _table(("protocol", "version", "task", "what"),
                  [(f"`{n}`", p.version, p.task.value, p.description) for n, p in _builtins("protocols")])


def builtin_datasets() -> str:
    return _table(("data set", "what"), [(f"`{n}`", s.description) for n, s in _builtins("datasets")])


def builtin_extractors() -> str:
    return _table(("extractor kind", "what"), [(f"`{n}`", s.description) for n, s in _builtins("extractors")])


def builtin_metrics() -> str:
    rows = [(f"`{n}`", s.description, "higher" if s.higher_is_better else "lower",
             ", ".join(f"`{k} = {v!r}`" for k, v in sorted(s.defaults.items())) or "–")
            for n, s in _builtins("metrics")]
    return _table(("metric", "what", "better", "settings (defaults)"), rows)


#: The stages of the flow, earliest first: a module may import its own stage and earlier ones, never a later one
#: (``tests/test_architecture.py`` reads every import). Each entry is a package or module under ``genbench``.
STAGES: list[tuple[str, ...]] = [
    ("errors",),
    ("trust",),
    ("storage",),
    ("models", "datasets.base", "extractors.base", "metrics.base"),  # the contracts
    ("protocols",),
    ("registry",),
    ("datasets", "extractors", "metrics"),
    ("evaluation",),
    ("runner",),
    ("cli", "leaderboard", "reference", "__main__"),
]


def architecture() -> str:
    """Each stage's packages (in dependency order) with the first line of their docstrings and their modules."""
    import ast

    root = ROOT / "genbench"
    rows = []
    for number, names in enumerate(STAGES, start=1):
        for name in names:
            folder = root / name.replace(".", "/")
            source = folder / "__init__.py" if folder.is_dir() else folder.with_suffix(".py")
            doc = (ast.get_docstring(ast.parse(source.read_text(encoding="utf-8"))) or "").split("\n\n")[0]
            doc = doc.replace("\n", " ")
            parts = sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__" and not
                           p.read_text(encoding="utf-8").startswith('"""Moved to')) if folder.is_dir() else []
            shown = f"`{name}/`" if folder.is_dir() else f"`{name.replace('.', '/')}.py`"
            rows.append((str(number), shown, doc, ", ".join(parts)))
    return _table(("stage", "package", "what it holds", "modules"), rows)


GENERATORS: dict[str, Callable[[], str]] = {
    "architecture": architecture,
    "cli": cli_reference,
    "commands": command_summary,
    "protocol-keys": protocol_keys,
    "result-fields": result_fields,
    "hooks": hooks,
    "plugins": builtin_models,
    "protocols": builtin_protocols,
    "datasets": builtin_datasets,
    "extractors": builtin_extractors,
    "metrics": builtin_metrics,
}


def render(text: str, source: str = "<text>", cache: dict[str, str] | None = None) -> str:
    """``text`` with every generated block refilled; an unknown block name is an error naming the file."""
    cache = {} if cache is None else cache

    def fill(match: re.Match) -> str:
        name = match["name"]
        if name not in GENERATORS:
            raise SystemExit(f"docgen: {source}: unknown block '{name}' (known: {', '.join(GENERATORS)})")
        if name not in cache:
            cache[name] = GENERATORS[name]().rstrip("\n") + "\n"
        return f"{match.group(1)}{cache[name]}{match.group(4)}"

    return BLOCK.sub(fill, text)


def stale_files(root: Path = ROOT, write: bool = False) -> list[Path]:
    """The documentation files whose generated blocks differ from the code; rewritten when ``write``."""
    cache: dict[str, str] = {}
    stale = []
    for path in documentation_files(root):
        text = path.read_text(encoding="utf-8")
        fresh = render(text, str(path), cache)
        if fresh != text:
            stale.append(path)
            if write:
                path.write_text(fresh, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genbench.cli.docgen", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if any block is stale")
    args = parser.parse_args(argv)
    stale = stale_files(write=not args.check)
    for path in stale:
        print(f"{'stale' if args.check else 'rewrote'}: {path.relative_to(ROOT)}")
    if args.check and stale:
        print("docgen: run `make docs` (python -m genbench.cli.docgen) and commit the result", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
