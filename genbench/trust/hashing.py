"""SHA-256 of files, directory trees and JSON-able values: the identities results and caches are keyed by."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

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


class PixelHasher:
    """Incremental ``pixels_sha256``: feed images in index order, as ``[C, H, W]`` tensors or ``[H, W, C]`` arrays."""

    def __init__(self, prefix: bytes = b"") -> None:
        self._digest = hashlib.sha256(prefix)

    def add_chw(self, images: torch.Tensor) -> None:
        """Images ``[N, C, H, W]`` (or one ``[C, H, W]``) as uint8."""
        self._digest.update(images.contiguous().numpy().tobytes())

    def add_hwc(self, array: np.ndarray) -> None:
        """One decoded ``[H, W, C]`` uint8 array (PIL's layout)."""
        self._digest.update(np.ascontiguousarray(array.transpose(2, 0, 1)).tobytes())

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def images_sha256(images: "torch.Tensor") -> str:
    """SHA-256 of a uint8 image tensor's shape and pixels: the identity of a sample set."""
    hasher = PixelHasher(str(tuple(images.shape)).encode())
    hasher.add_chw(images)
    return hasher.hexdigest()
