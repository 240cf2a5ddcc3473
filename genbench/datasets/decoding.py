"""Decoding image files with a failure budget: the one way every data set reads image files (COCO, captioned
folders, Flowers 102).

A file that cannot be read as an image (truncated, not an image, a decompression bomb, missing) is
skipped, named and counted; once all files are read, the load fails when their share exceeds the
protocol's ``max_bad_image_share`` (a data option, 0.01 by default), with one line naming the first.
Decoding runs on a thread per core (PIL releases the GIL while it decodes and resizes); the order,
and so every pixel, is the same as one thread's.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from PIL import Image, UnidentifiedImageError

from genbench.datasets.base import DataRequest
from genbench.errors import DataError

T = TypeVar("T")
DEFAULT_MAX_BAD_IMAGE_SHARE = 0.01


def decode_file(path: Path, fit: Callable[[Image.Image], T]) -> T | None:
    """``fit`` of the image in ``path`` (which decodes it), or None when the file cannot be read as an image."""
    try:
        with Image.open(path) as picture:
            return fit(picture)
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return None


def decode_files(paths: list[Path], fit: Callable[[Image.Image], T], workers: int | None = None,
                 chunk: int = 256) -> Iterator[T | None]:
    """``decode_file`` of every path, in order, on ``workers`` threads (default: one per core).

    Paths are handed out ``chunk`` at a time so that at most two chunks of decoded images wait in memory.
    """
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        yield from (decode_file(path, fit) for path in paths)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="genbench-decode") as pool:
        pending = None
        for start in range(0, len(paths), chunk):
            submitted = [pool.submit(decode_file, p, fit) for p in paths[start:start + chunk]]
            if pending is not None:
                yield from (future.result() for future in pending)
            pending = submitted
        if pending is not None:
            yield from (future.result() for future in pending)


def decode_within_budget(paths: list[Path], fit: Callable[[Image.Image], T], request: DataRequest, source: str,
                         failed: list[str]) -> Iterator[tuple[int, T]]:
    """``(index, fit(image))`` of each file that decodes, in order; the names of those that do not are appended to
    ``failed``. Once all are read, more failures than ``max_bad_image_share`` (or no image at all) is a
    ``DataError`` naming ``source`` and the first failed file."""
    for index, (path, value) in enumerate(zip(paths, decode_files(paths, fit))):
        if value is None:
            failed.append(path.name)
        else:
            yield index, value
    limit = float(request.options.get("max_bad_image_share", DEFAULT_MAX_BAD_IMAGE_SHARE))
    if failed and (len(failed) > limit * len(paths) or len(failed) == len(paths)):
        raise DataError(f"{source}: {len(failed)} of {len(paths)} images failed to decode (e.g. {failed[0]}), "
                        f"more than the protocol's max_bad_image_share {limit}")
