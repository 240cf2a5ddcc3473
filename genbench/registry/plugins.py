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
from pathlib import Path
from typing import Any

import pluggy

from genbench.datasets.base import DatasetSpec
from genbench.errors import GenbenchError
from genbench.extractors.base import ExtractorSpec
from genbench.metrics.base import MetricSpec
from genbench.models.base import ModelSpec
from genbench.protocols.protocol import Protocol, load_protocol_file
from genbench.registry import hookspecs
from genbench.registry.lookup import PluginInfo, Provided, Registry

ENTRY_POINT_GROUP = "genbench"
#: genbench's own contributions, registered by name as Datasette registers its defaults: each stage's package
#: offers its own kinds, and none of them is imported by the registry (the dependencies run one way).
CORE_MODULES = ("genbench.registry.builtins", "genbench.datasets.builtin", "genbench.extractors.builtin",
                "genbench.metrics.builtin")


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

    One bad plugin never takes the others down: a plugin that fails to import, implements an
    unknown hook or whose hook raises is recorded with its error (``genbench list`` shows it); a
    name two plugins claim is disabled for both (``Registry.disabled``), and asking for it says why.
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
    infos = {}
    for module in CORE_MODULES:
        infos[module] = PluginInfo("core", module, "genbench", version)
        registry.plugins.append(infos[module])
        pm.register(importlib.import_module(module), name=module)

    if autoload:
        for ep in _entry_points(set(load_only) if load_only is not None else None):
            dist, dist_version = _distribution(ep)
            info = PluginInfo(ep.name, ep.value, dist, dist_version)
            registry.plugins.append(info)
            if pm.has_plugin(ep.name) or ep.name == "core":
                info.error = f"entry point name '{ep.name}' is already registered"
                continue
            try:
                module = ep.load()
                pm.register(module, name=ep.name)
            except Exception as exc:  # a broken plugin must not break the others
                info.error = f"failed to import: {type(exc).__name__}: {exc}"
                continue
            infos[ep.name] = info
    _unregister_unknown_hooks(pm, infos)
    pm.check_pending()  # cannot fail now; kept so pluggy's own check still guards the contract

    for hook_name, kind, spec_type in (("genbench_models", "models", ModelSpec),
                                       ("genbench_datasets", "datasets", DatasetSpec),
                                       ("genbench_extractors", "extractors", ExtractorSpec),
                                       ("genbench_metrics", "metrics", MetricSpec)):
        for info, items in _call_each(pm, hook_name, infos):
            for item in items:
                if isinstance(item, spec_type):
                    _add(registry, kind, item.name, item, info)
                else:
                    _fail(info, f"{hook_name} returned {type(item).__name__} {item!r:.60}, not a {spec_type.__name__}")
    _collect_protocols(pm, registry, infos)
    return registry


def _fail(info: PluginInfo, message: str) -> None:
    """Record a plugin's failure (several are joined); what else it provides stays usable."""
    info.error = f"{info.error}; {message}" if info.error else message


def _unregister_unknown_hooks(pm: pluggy.PluginManager, infos: dict[str, PluginInfo]) -> None:
    """A plugin implementing a hook genbench does not define (a misspelling) is unregistered with that
    error, as pytest's ``check_pending`` refuses it, without taking the other plugins down."""
    known = [name for name in dir(hookspecs) if name.startswith("genbench_")]
    unknown = [(impl.plugin_name, hook_name) for hook_name, caller in vars(pm.hook).items()
               if isinstance(caller, pluggy.HookCaller) and not caller.has_spec()
               for impl in caller.get_hookimpls() if not impl.optionalhook]
    for plugin_name, hook_name in unknown:
        close = difflib.get_close_matches(hook_name, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f" (hooks: {', '.join(known)})"
        _fail(infos[plugin_name], f"implements unknown hook '{hook_name}'{hint}")
        if pm.has_plugin(plugin_name):
            pm.unregister(name=plugin_name)


def _call_each(pm: pluggy.PluginManager, hook_name: str, infos: dict[str, PluginInfo]):
    """Call one hook implementation at a time, so each contribution is attributed to its plugin and a
    hook that raises fails only its own plugin."""
    hook = getattr(pm.hook, hook_name)
    for impl in reversed(hook.get_hookimpls()):
        info = infos[impl.plugin_name]
        caller = pm.subset_hook_caller(hook_name, remove_plugins=[p for n, p in pm.list_name_plugin()
                                                                   if n != impl.plugin_name])
        try:
            answers = [list(answer or []) for answer in caller()]
        except Exception as exc:  # a broken plugin must not break the others
            _fail(info, f"{hook_name} failed: {type(exc).__name__}: {exc}")
            continue
        for answer in answers:
            yield info, answer


def _add(registry: Registry, kind: str, name: str, item: Any, info: PluginInfo) -> None:
    """Register ``item`` as ``name``; a name two plugins claim is disabled for both (``Registry.disabled``)."""
    table, disabled = getattr(registry, kind), registry.disabled.setdefault(kind, {})
    if name in disabled:
        disabled[name].append(info)
    elif name in table:
        disabled[name] = [table.pop(name).plugin, info]
    else:
        table[name] = Provided(item, info)


def _collect_protocols(pm: pluggy.PluginManager, registry: Registry, infos: dict[str, PluginInfo]) -> None:
    """Every protocol the plugins offer (objects or TOML paths), with the former names they still answer to."""
    for info, items in _call_each(pm, "genbench_protocols", infos):
        for item in items:
            try:
                protocol = item if isinstance(item, Protocol) else load_protocol_file(Path(item))
            except GenbenchError as exc:
                _fail(info, f"genbench_protocols: {exc}")
                continue
            except Exception as exc:
                _fail(info, f"genbench_protocols: {item!r:.60}: {type(exc).__name__}: {exc}")
                continue
            _add(registry, "protocols", protocol.name, protocol, info)
            registry.aliases.update({alias: protocol.name for alias in protocol.aliases})


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
