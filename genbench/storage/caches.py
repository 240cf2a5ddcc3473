"""Where genbench keeps what it can recompute: ``~/.cache/genbench``, moved by ``GENBENCH_CACHE`` or ``--cache-dir``."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    return Path(os.environ.get("GENBENCH_CACHE") or Path.home() / ".cache" / "genbench")
