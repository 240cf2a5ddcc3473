"""The identity of the code that samples: the plugin's distribution, its version and a hash of its sources.

A version number alone does not change when a plugin author edits a file, so runs and trainings
are also keyed by the SHA-256 of the source files of the top-level package (or module) that
defines the model class, and of the modules of its base classes (genbench's ``modelkit`` for the
built-ins): changed code never resumes shards or reuses checkpoints of old code.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
from pathlib import Path
from typing import Any


def sources_sha256(top_level: str) -> str:
    """SHA-256 over every ``.py`` file of package ``top_level`` (sorted relative path, NUL, bytes, NUL)."""
    package = importlib.import_module(top_level)
    roots = [Path(p) for p in getattr(package, "__path__", [])]
    files = [(f.relative_to(root).as_posix(), f) for root in roots for f in sorted(root.rglob("*.py"))]
    if not roots and getattr(package, "__file__", None):
        files = [(Path(package.__file__).name, Path(package.__file__))]
    digest = hashlib.sha256()
    for relative, path in sorted(files):
        digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def base_modules_sha256(model_class: type) -> dict[str, str]:
    """SHA-256 of the source file of each module that defines one of ``model_class``'s base classes."""
    hashes = {}
    for cls in model_class.__mro__[1:]:
        path = getattr(sys.modules.get(cls.__module__), "__file__", None)
        stdlib = cls.__module__.split(".")[0] in sys.stdlib_module_names
        if path and path.endswith(".py") and not stdlib and cls.__module__ not in hashes:
            hashes[cls.__module__] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return dict(sorted(hashes.items()))


def code_identity(model_class: type, distribution: str, version: str) -> dict[str, Any]:
    """``{distribution, version, package, sources_sha256, base_modules}`` of the code behind ``model_class``."""
    top_level = model_class.__module__.split(".")[0]
    return {"distribution": distribution, "version": version, "package": top_level,
            "sources_sha256": sources_sha256(top_level), "base_modules": base_modules_sha256(model_class)}
