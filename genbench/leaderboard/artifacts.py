"""A run's image files (sample grid, prompt gallery) found beside its result file, checked before copying.

Records name their artifacts by file name relative to the results directory; a name that is
absolute, climbs out with ``..`` or is not an image is ignored rather than copied, so a crafted
record cannot pull other files into the site.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif")
CAPTION_KEYS = ("prompt", "caption", "text")


@dataclass(frozen=True)
class GalleryImage:
    """One gallery picture with the prompt it was made from (None when the record does not say)."""

    caption: str | None
    name: str


def safe_artifact(results_dir: Path, name: Any) -> Path | None:
    """The file ``name`` names inside ``results_dir``, or None when it is unsafe, not an image or absent."""
    if not isinstance(name, str) or not name.lower().endswith(IMAGE_SUFFIXES):
        return None
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or "\\" in name:
        return None
    path = Path(results_dir, *relative.parts)
    return path if path.is_file() else None


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
