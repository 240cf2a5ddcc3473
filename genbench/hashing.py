"""SHA-256 of files, directory trees and JSON-able values: the identities results and caches are keyed by."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_json(value: Any) -> str:
    """Hex SHA-256 of a value's canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def sha256_tree(directory: Path) -> str:
    """Hex SHA-256 of a directory as a tree: every file's relative path and content, in sorted path order.

    A diffusers pipeline is a directory (``model_index.json``, ``unet/config.json``, weights), so
    its identity is all of them: renaming, adding or changing any file changes the hash. Hidden
    entries (names starting with ``.``, such as the hub's ``.cache``) are bookkeeping, not the model,
    and are left out. Symbolic links are followed (the hub's snapshots link to blobs).
    """
    root = Path(directory)
    files = sorted((p.relative_to(root).as_posix(), p) for p in root.rglob("*")
                   if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))
    digest = hashlib.sha256()
    for relative, path in files:
        digest.update(f"{relative}\0{sha256_file(path)}\n".encode())
    return digest.hexdigest()


def checkpoint_sha256(path: Path | None) -> str | None:
    """A checkpoint's identity: a file's SHA-256, a directory's ``sha256_tree``, None when nothing is on disk
    (no checkpoint, or a hub name the plugin resolves itself)."""
    if path is None:
        return None
    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    return sha256_tree(path) if path.is_dir() else None
