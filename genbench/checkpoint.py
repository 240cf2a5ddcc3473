"""Moved to ``genbench.models.checkpoints``: this old import path keeps working and warns once."""

from genbench.errors import moved_module

__getattr__ = moved_module("genbench.checkpoint", "genbench.models.checkpoints")
