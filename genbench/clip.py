"""Moved to ``genbench.extractors.open_clip_models``: this old import path keeps working and warns once."""

from genbench.errors import moved_module

__getattr__ = moved_module("genbench.clip", "genbench.extractors.open_clip_models")
