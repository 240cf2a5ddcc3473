"""The extension machinery: the hook specifications (the plugin contract), the pluggy manager that loads
genbench's own contributions and every ``genbench`` entry point, and lookups of what they provide by name."""

from genbench.registry.hookspecs import hookimpl
from genbench.registry.plugins import PluginInfo, Provided, Registry, get_registry, load_registry, reset_registry

__all__ = ["PluginInfo", "Provided", "Registry", "get_registry", "hookimpl", "load_registry", "reset_registry"]
