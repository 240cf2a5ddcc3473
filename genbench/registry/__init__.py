"""The extension machinery: the hook specifications (the plugin contract), the pluggy manager that loads
genbench's own contributions and every ``genbench`` entry point, and lookups of what they provide by name.

``hookimpl`` is imported eagerly (plugins need only it); the rest loads on first use, so that importing
``genbench`` or a plugin module stays cheap.
"""

from typing import Any

from genbench.registry.hookspecs import hookimpl

__all__ = ["PluginInfo", "Provided", "Registry", "get_registry", "hookimpl", "load_registry", "reset_registry"]


def __getattr__(name: str) -> Any:
    if name in ("PluginInfo", "Provided", "Registry"):
        from genbench.registry import lookup

        return getattr(lookup, name)
    if name in __all__:
        from genbench.registry import plugins

        return getattr(plugins, name)
    raise AttributeError(f"module 'genbench.registry' has no attribute '{name}'")
