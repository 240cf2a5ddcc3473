"""One pluggy PluginManager: core built-ins plus every module under the ``genbench`` entry-point group.

Switches for people debugging plugins (as Datasette and pytest have):
``GENBENCH_LOAD_PLUGINS=a,b`` loads only those entry points, ``GENBENCH_DISABLE_PLUGIN_AUTOLOAD=1``
loads none (core only), ``GENBENCH_TRACE_PLUGINS=1`` prints every hook call to stderr.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import pluggy

from genbench import hookspecs
from genbench.datasets.base import DatasetSpec
from genbench.errors import GenbenchError, PluginError, ProtocolError
from genbench.extractors.base import ExtractorSpec
from genbench.metrics.base import MetricSpec
from genbench.model import ModelSpec

ENTRY_POINT_GROUP = "genbench"
CORE_MODULE = "genbench.builtins"

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
    """Everything the installed plugins provide, looked up by name."""

    plugins: list[PluginInfo] = field(default_factory=list)
    models: dict[str, Provided[ModelSpec]] = field(default_factory=dict)
    protocols: dict[str, Provided[Any]] = field(default_factory=dict)
    datasets: dict[str, Provided[DatasetSpec]] = field(default_factory=dict)
    extractors: dict[str, Provided[ExtractorSpec]] = field(default_factory=dict)
    metrics: dict[str, Provided[MetricSpec]] = field(default_factory=dict)

    def model(self, name: str) -> Provided[ModelSpec]:
        return _lookup(self.models, name, "model plugin", PluginError)

    def protocol(self, name: str):
        """A protocol by registered name, or loaded from a path to a TOML file."""
        from genbench.protocol import load_protocol_file

        if name not in self.protocols and (name.endswith(".toml") or os.sep in name) and Path(name).exists():
            return load_protocol_file(Path(name))
        return _lookup(self.protocols, name, "protocol", ProtocolError).item

    def dataset(self, name: str) -> DatasetSpec:
        return _lookup(self.datasets, name, "dataset", ProtocolError).item

    def extractor(self, name: str) -> ExtractorSpec:
        return _lookup(self.extractors, name, "feature extractor", ProtocolError).item

    def metric(self, name: str) -> MetricSpec:
        return _lookup(self.metrics, name, "metric", ProtocolError).item


def _lookup(table: dict[str, Provided[T]], name: str, what: str, error: type[GenbenchError]) -> Provided[T]:
    if name in table:
        return table[name]
    close = difflib.get_close_matches(name, list(table), n=3, cutoff=0.5)
    hint = f"; did you mean: {', '.join(close)}?" if close else f"; known: {', '.join(sorted(table)) or 'none'}"
    raise error(f"unknown {what} '{name}'{hint}")


def _plugin_manager(trace: bool) -> pluggy.PluginManager:
    pm = pluggy.PluginManager("genbench")
    pm.add_hookspecs(hookspecs)
    if trace:
        def before(hook_name, hook_impls, kwargs):
            names = ", ".join(impl.plugin_name for impl in hook_impls)
            print(f"genbench trace: {hook_name}({kwargs}) -> [{names}]", file=sys.stderr)

        pm.add_hookcall_monitoring(before, lambda outcome, hook_name, hook_impls, kwargs: None)
    return pm


def _entry_points(only: set[str] | None) -> list[importlib.metadata.EntryPoint]:
    seen: dict[tuple[str, str], importlib.metadata.EntryPoint] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if only is not None and ep.name not in only:
            continue
        seen.setdefault((ep.name, ep.value), ep)
    return sorted(seen.values(), key=lambda ep: ep.name)


def _distribution(ep: importlib.metadata.EntryPoint) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "unknown", "unknown"
    return dist.metadata["Name"], dist.version


def load_registry(load_only: list[str] | None = None, autoload: bool | None = None,
                  trace: bool | None = None) -> Registry:
    """Register the core, load entry points, collect what every plugin provides.

    A plugin that fails to import is recorded with its error and skipped; two plugins
    claiming one name raise ``PluginError`` naming both distributions.
    """
    env = os.environ
    if load_only is None and env.get("GENBENCH_LOAD_PLUGINS"):
        load_only = [n.strip() for n in env["GENBENCH_LOAD_PLUGINS"].split(",") if n.strip()]
    if autoload is None:
        autoload = env.get("GENBENCH_DISABLE_PLUGIN_AUTOLOAD", "") in ("", "0")
    if trace is None:
        trace = env.get("GENBENCH_TRACE_PLUGINS", "") not in ("", "0")

    pm = _plugin_manager(trace)
    registry = Registry()
    version = importlib.metadata.version("genbench")
    core = PluginInfo("core", CORE_MODULE, "genbench", version)
    pm.register(importlib.import_module(CORE_MODULE), name="core")
    registry.plugins.append(core)
    infos = {"core": core}

    if autoload:
        for ep in _entry_points(set(load_only) if load_only is not None else None):
            dist, dist_version = _distribution(ep)
            info = PluginInfo(ep.name, ep.value, dist, dist_version)
            registry.plugins.append(info)
            if pm.has_plugin(ep.name):
                info.error = f"entry point name '{ep.name}' is already registered"
                continue
            try:
                module = ep.load()
                pm.register(module, name=ep.name)
            except Exception as exc:  # a broken plugin must not break the others
                info.error = f"{type(exc).__name__}: {exc}"
                continue
            infos[ep.name] = info
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"a plugin implements an unknown hook: {exc}") from None

    _collect(pm, "genbench_models", registry.models, infos, "model plugin")
    _collect(pm, "genbench_datasets", registry.datasets, infos, "dataset")
    _collect(pm, "genbench_extractors", registry.extractors, infos, "feature extractor")
    _collect(pm, "genbench_metrics", registry.metrics, infos, "metric")
    _collect_protocols(pm, registry, infos)
    return registry


def _call_each(pm: pluggy.PluginManager, hook_name: str, infos: dict[str, PluginInfo]):
    """Call one hook implementation at a time, so each contribution is attributed to its plugin."""
    hook = getattr(pm.hook, hook_name)
    for impl in reversed(hook.get_hookimpls()):
        info = infos[impl.plugin_name]
        if info.error:
            continue
        caller = pm.subset_hook_caller(hook_name, remove_plugins=[p for n, p in pm.list_name_plugin()
                                                                   if n != impl.plugin_name])
        try:
            for answer in caller():
                yield info, list(answer or [])
        except GenbenchError:
            raise
        except Exception as exc:
            info.error = f"{hook_name} failed: {type(exc).__name__}: {exc}"


def _add(table: dict[str, Provided[Any]], name: str, item: Any, info: PluginInfo, what: str) -> None:
    if name in table:
        other = table[name].plugin
        raise PluginError(
            f"{what} '{name}' is provided twice: by {other.distribution} ({other.module}) "
            f"and by {info.distribution} ({info.module})"
        )
    table[name] = Provided(item, info)


def _collect(pm, hook_name: str, table: dict, infos: dict[str, PluginInfo], what: str) -> None:
    for info, items in _call_each(pm, hook_name, infos):
        for item in items:
            _add(table, item.name, item, info, what)


def _collect_protocols(pm, registry: Registry, infos: dict[str, PluginInfo]) -> None:
    from genbench.protocol import Protocol, load_protocol_file

    for info, items in _call_each(pm, "genbench_protocols", infos):
        for item in items:
            protocol = item if isinstance(item, Protocol) else load_protocol_file(Path(item))
            _add(registry.protocols, protocol.name, protocol, info, "protocol")


_cached: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, loaded on first use."""
    global _cached
    if _cached is None:
        _cached = load_registry()
    return _cached


def reset_registry() -> None:
    """Forget the process-wide registry so the next ``get_registry`` loads plugins afresh."""
    global _cached
    _cached = None
