"""Moved to ``genbench.storage.results``: this old import path keeps working and warns once."""

from genbench.errors import moved_module

__getattr__ = moved_module("genbench.results", "genbench.storage.results")
