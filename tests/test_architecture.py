"""The house keeps its shape: every import of genbench's own modules runs one way, from a later stage of the
flow to an earlier one (docs/architecture.md), counting imports inside functions and under TYPE_CHECKING."""

from __future__ import annotations

import ast
from pathlib import Path

import genbench
from genbench.cli import docgen

PACKAGE = Path(genbench.__file__).parent
STAGES = docgen.STAGES
#: Modules left at their old import paths for plugins written against them: they forward, so may import anything.
SHIMS = {"checkpoint", "clip", "downloads", "hashing", "hookspecs", "model", "modelkit", "precision", "results",
         "training", "weights", "metrics.speed"}


def stage(module: str) -> int | None:
    """The stage of ``genbench.<module>`` (its longest listed prefix), None for the package's own face."""
    best = None
    for index, names in enumerate(STAGES):
        for name in names:
            if (module == name or module.startswith(name + ".")) and (best is None or len(name) > len(best[1])):
                best = (index, name)
    return best[0] if best else None


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def genbench_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of a genbench module in ``path``, wherever it stands in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "genbench":
                found += [(node.lineno, alias.name) for alias in node.names]
            elif node.module.startswith("genbench."):
                found.append((node.lineno, node.module[len("genbench."):]))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name[len("genbench."):]) for a in node.names if a.name.startswith("genbench.")]
    return found


def test_every_import_runs_from_a_later_stage_to_an_earlier_one():
    backwards = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = module_name(path)
        if importer in SHIMS or stage(importer) is None:
            continue
        for line, imported in genbench_imports(path):
            target = stage(imported)
            if target is not None and target > stage(importer):
                backwards.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({importer}) imports {imported}")
    assert backwards == []


def test_every_module_belongs_to_a_stage_and_the_top_level_stays_small():
    top = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__"))
    assert len(top) <= 15, top
    unplaced = [module_name(p) for p in PACKAGE.rglob("*.py")
                if module_name(p) not in SHIMS and module_name(p) and stage(module_name(p)) is None]
    assert unplaced == []


def test_no_module_is_longer_than_a_few_screens():
    long = [(str(p.relative_to(PACKAGE.parent)), n) for p in [*PACKAGE.rglob("*.py"), *PACKAGE.parent.glob(
        "plugins/**/*.py")] if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400]
    assert long == []


def test_the_stage_table_sees_imports_inside_functions_and_type_checking_blocks(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from genbench.runner import Runner\n"
                      "def f():\n    import genbench.cli.report\n    from genbench import errors\n", encoding="utf-8")
    assert genbench_imports(source) == [(3, "runner"), (5, "cli.report"), (6, "errors")]
    assert [stage(m) for m in ("errors", "datasets.base", "datasets.coco", "runner.sampling")] == [0, 3, 6, 8]
