"""``genbench list``: installed plugins (with distribution and version), models, protocols, data, metrics.

Broken plugins and names disabled because two plugins claim them are listed with their error.
"""

from __future__ import annotations

import argparse

NAME = "list"
HELP = "show installed model plugins, protocols, datasets, extractors and metrics"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: everything installed is listed."""


def handle(args: argparse.Namespace) -> int:
    from genbench.registry import get_registry

    registry = get_registry()
    print("Plugins:")
    w = _width(info.name for info in registry.plugins)
    for info in registry.plugins:
        state = f"  ERROR: {info.error}" if info.error else ""
        print(f"  {info.name:<{w}} {info.distribution} {info.version}  ({info.module}){state}")
    for kind, title in (("models", "Models"), ("protocols", "Protocols"), ("datasets", "Datasets"),
                        ("extractors", "Extractors"), ("metrics", "Metrics")):
        table, disabled = getattr(registry, kind), registry.disabled.get(kind, {})
        print(f"{title}:")
        w = _width([*table, *disabled])
        lines = {name: f"  {name:<{w}} {_describe(kind, provided)}" for name, provided in table.items()}
        lines.update({name: f"  {name:<{w}} ERROR: {registry.disabled_reason(kind, name)}" for name in disabled})
        for name in sorted(lines):
            print(lines[name])
    return 0


def _describe(kind: str, provided) -> str:
    """One entry's line after its name: models with task and distribution, protocols with version and task."""
    item = provided.item
    if kind == "models":
        return f"[{item.task_label}] {item.description}  ({provided.plugin.distribution} {provided.plugin.version})"
    if kind == "protocols":
        return f"v{item.version} [{item.task.value}] {item.description}"
    return item.description


def _width(names) -> int:
    """Column width for a section's names: the longest, at least 12."""
    return max([12, *(len(name) for name in names)])
