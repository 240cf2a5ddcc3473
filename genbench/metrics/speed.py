"""Moved to ``genbench.runner.speed``: this old import path keeps working and warns once."""

from genbench.errors import moved_module

__getattr__ = moved_module("genbench.metrics.speed", "genbench.runner.speed")
