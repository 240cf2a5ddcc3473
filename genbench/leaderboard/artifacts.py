"""A run's image files (sample grid, prompt gallery) found beside its result file, checked before copying.

Records name their artifacts by file name relative to the results directory. A site may be built
from result files a stranger sent, so an artifact is copied only when it is a regular, world-readable
image file inside that directory, reached without following a symbolic link; anything else (an
absolute name, ``..``, a symlink out, a FIFO, a 0600 file) is left out rather than copied.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

from genbench.storage.images import IMAGE_SUFFIXES

MAX_ARTIFACT_BYTES = 64 * 1024 * 1024
CAPTION_KEYS = ("prompt", "caption", "text")


@dataclass(frozen=True)
class GalleryImage:
    """One gallery picture with the prompt it was made from (None when the record does not say)."""

    caption: str | None
    name: str


def read_artifact(results_dir: Path, name: Any) -> bytes | None:
    """The bytes of the image ``name`` names inside ``results_dir``, or None when it is unsafe to publish.

    The bytes are read from the descriptor that was checked, so the file cannot be swapped in between.
    """
    if not isinstance(name, str) or not name.lower().endswith(IMAGE_SUFFIXES):
        return None
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or "\\" in name:
        return None
    try:
        root = Path(results_dir).resolve(strict=True)
        path = root.joinpath(*relative.parts)
        if path.resolve(strict=True) != path:  # a symbolic link somewhere below the results directory
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except (OSError, RuntimeError):
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if (not stat.S_ISREG(info.st_mode) or not info.st_mode & stat.S_IROTH
                or info.st_size > MAX_ARTIFACT_BYTES):
            return None
        return handle.read(MAX_ARTIFACT_BYTES + 1)


def gallery_images(node: Any, caption: str | None = None) -> Iterator[GalleryImage]:
    """Image names anywhere in an ``artifacts.gallery`` entry, with the nearest prompt.

    Handles a file name, lists, ``{prompt: file(s)}`` mappings and ``{"prompt": ..., "images": [...]}``
    tables alike: the gallery format belongs to the plugin that writes it.
    """
    if isinstance(node, str):
        if node.lower().endswith(IMAGE_SUFFIXES):
            yield GalleryImage(caption, node)
    elif isinstance(node, list):
        for item in node:
            yield from gallery_images(item, caption)
    elif isinstance(node, dict):
        own = next((node[k] for k in CAPTION_KEYS if isinstance(node.get(k), str)), None)
        for key in sorted(node):
            if key in CAPTION_KEYS:
                continue
            yield from gallery_images(node[key], own or (key if " " in key else caption))
