"""genbench's own protocols, registered through the public hook (the shipped TOML files). The core's data
sets, extractors and metrics register from their own packages (``CORE_MODULES`` in ``genbench.registry.plugins``)."""

from __future__ import annotations

from pathlib import Path

from genbench.protocols.protocol import builtin_protocol_files
from genbench.registry.hookspecs import hookimpl


@hookimpl
def genbench_protocols() -> list[Path]:
    return builtin_protocol_files()
