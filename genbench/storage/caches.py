"""Where genbench keeps what it can recompute: ``~/.cache/genbench``, moved by ``GENBENCH_CACHE`` or ``--cache-dir``."""

from __future__ import annotations

import os
from pathlib import Path

from genbench.errors import GenbenchError


def default_cache_dir() -> Path:
    """``$GENBENCH_CACHE``, else ``~/.cache/genbench``; without a usable home directory, one line (never a
    cache at the file system's root)."""
    if os.environ.get("GENBENCH_CACHE"):
        return Path(os.environ["GENBENCH_CACHE"])
    home = os.environ.get("HOME", "")
    if not home.strip() or not Path(home).is_absolute():
        raise GenbenchError("no cache directory: HOME is not set (or empty); set GENBENCH_CACHE or pass --cache-dir")
    return Path(home) / ".cache" / "genbench"
