"""Moved to ``genbench.models.training``: this old import path keeps working and warns once."""

from genbench.errors import moved_module

__getattr__ = moved_module("genbench.training", "genbench.models.training")
