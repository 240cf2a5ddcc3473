"""What the installed plugins provide, looked up by name: an unknown name gets close matches, a name two plugins
claim is disabled for both, and a plugin that failed to load is named with its error."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from genbench.datasets.base import DatasetSpec
from genbench.errors import GenbenchError, PluginError, ProtocolError, notice
from genbench.extractors.base import ExtractorSpec
from genbench.metrics.base import MetricSpec
from genbench.models.base import ModelSpec
from genbench.protocols.protocol import Protocol, load_protocol_file

T = TypeVar("T")


@dataclass
class PluginInfo:
    """A loaded (or failed) plugin module with the distribution that provides it."""

    name: str
    module: str
    distribution: str
    version: str
    error: str | None = None


@dataclass
class Provided(Generic[T]):
    """Something a plugin contributed, with who contributed it."""

    item: T
    plugin: PluginInfo


@dataclass
class Registry:
    """Everything the installed plugins provide, looked up by name.

    ``disabled`` holds, per kind (``models``, ``protocols``, ...), the names two or more plugins
    claimed, with those plugins: no entry of such a name is used, and asking for it says why.
    """

    plugins: list[PluginInfo] = field(default_factory=list)
    models: dict[str, Provided[ModelSpec]] = field(default_factory=dict)
    protocols: dict[str, Provided[Protocol]] = field(default_factory=dict)
    datasets: dict[str, Provided[DatasetSpec]] = field(default_factory=dict)
    extractors: dict[str, Provided[ExtractorSpec]] = field(default_factory=dict)
    metrics: dict[str, Provided[MetricSpec]] = field(default_factory=dict)
    disabled: dict[str, dict[str, list[PluginInfo]]] = field(default_factory=dict)
    #: Former protocol names -> current ones (``aliases`` in a protocol file).
    aliases: dict[str, str] = field(default_factory=dict)

    def model(self, name: str) -> Provided[ModelSpec]:
        return self._lookup("models", name, PluginError)

    def protocol(self, name: str) -> Protocol:
        """A protocol by registered name (or former name, with a notice), or loaded from a path to a TOML file."""
        if name not in self.protocols and (name.endswith(".toml") or os.sep in name) and os.path.lexists(name):
            return load_protocol_file(Path(name))
        if name not in self.protocols and name in self.aliases:
            current = self.aliases[name]
            notice(f"protocol '{name}' is now called '{current}'; use the new name (the old one will go away)")
            name = current
        return self._lookup("protocols", name, ProtocolError).item

    def dataset(self, name: str) -> DatasetSpec:
        return self._lookup("datasets", name, ProtocolError).item

    def extractor(self, name: str) -> ExtractorSpec:
        return self._lookup("extractors", name, ProtocolError).item

    def metric(self, name: str) -> MetricSpec:
        return self._lookup("metrics", name, ProtocolError).item

    def disabled_reason(self, kind: str, name: str) -> str:
        """Why the disabled ``name`` of ``kind`` is not used: the plugins that all provide it."""
        providers = " and by ".join(sorted(f"{p.distribution} ({p.module})" for p in self.disabled[kind][name]))
        return f"{KINDS[kind]} '{name}' is disabled: it is provided by {providers}; uninstall all but one of them"

    def failed_plugins(self) -> list[PluginInfo]:
        """Plugins that failed to import, implement an unknown hook or whose hooks raised (``genbench list``)."""
        return [info for info in self.plugins if info.error]

    def _lookup(self, kind: str, name: str, error: type[GenbenchError]) -> Provided[Any]:
        """The entry ``name`` of ``kind``; a disabled name, a plugin of that name that failed to load,
        or an unknown name (with close matches) is a one-line error."""
        table, what = getattr(self, kind), KINDS[kind]
        if name in table:
            return table[name]
        if name in self.disabled.get(kind, {}):
            raise error(self.disabled_reason(kind, name))
        failed = self.failed_plugins()
        same_name = next((info for info in failed if info.name == name), None)
        if same_name is not None:
            raise error(f"{what} '{name}' is not available: plugin '{name}' ({same_name.distribution} "
                        f"{same_name.version}, module {same_name.module}) is broken: {same_name.error}")
        close = difflib.get_close_matches(name, list(table), n=3, cutoff=0.5)
        hint = f"; did you mean: {', '.join(close)}?" if close else f"; known: {', '.join(sorted(table)) or 'none'}"
        broken = f" (broken plugins: {', '.join(i.name for i in failed)}; see genbench list)" if failed else ""
        raise error(f"unknown {what} '{name}'{hint}{broken}")


#: What each table of a ``Registry`` holds, as error messages name it.
KINDS = {"models": "model plugin", "protocols": "protocol", "datasets": "dataset",
         "extractors": "feature extractor", "metrics": "metric"}
