"""``genbench list``: installed plugins (with distribution and version), models, protocols, data, metrics."""

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
    print("Models:")
    w = _width(registry.models)
    for name, provided in sorted(registry.models.items()):
        spec = provided.item
        print(f"  {name:<{w}} [{spec.task.value}] {spec.description}  "
              f"({provided.plugin.distribution} {provided.plugin.version})")
    print("Protocols:")
    w = _width(registry.protocols)
    for name, provided in sorted(registry.protocols.items()):
        protocol = provided.item
        print(f"  {name:<{w}} v{protocol.version} [{protocol.task.value}] {protocol.description}")
    for title, table in (("Datasets", registry.datasets), ("Extractors", registry.extractors),
                         ("Metrics", registry.metrics)):
        print(f"{title}:")
        w = _width(table)
        for name, provided in sorted(table.items()):
            print(f"  {name:<{w}} {provided.item.description}")
    return 0


def _width(names) -> int:
    """Column width for a section's names: the longest, at least 12."""
    return max([12, *(len(name) for name in names)])
