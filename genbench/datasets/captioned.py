"""Shared reading of captioned image files: strict UTF-8 captions, decoding with a failure budget, resize.

Bad input is handled visibly: a caption file that is not UTF-8 is a one-line error naming the file
and the byte offset; empty captions are dropped and counted; images that fail to decode are
skipped, counted and bounded by ``max_bad_image_share`` (``genbench.datasets.decoding``). The counts
go into ``ImageDataset.info`` and the result. Images are converted to RGB (or grey), then scaled so
the shorter side fits the protocol's size with PIL's bicubic filter and centre-cropped
(``PIL.ImageOps.fit``). Loading decodes every image once to find the failures, but keeps only the
file list (``DecodedFiles``): the feature pass decodes again a chunk at a time, so ``coco30k``'s
30 000 images at 256² never sit in memory together (5.9 GB as uint8).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from PIL import Image, ImageOps

from genbench.datasets.base import DataRequest, ImageDataset
from genbench.datasets.decoding import decode_file, decode_files, decode_within_budget
from genbench.errors import DataError
from genbench.trust.hashing import PixelHasher, sha256_json

RESIZE = "PIL bicubic, shorter side to the protocol size, centre crop (PIL.ImageOps.fit)"


@dataclass(frozen=True)
class CaptionedFile:
    """One (image file, caption) pair, the id the caption has in its source (COCO caption id, JSONL line)
    and the image's id there (COCO image id; empty where the source has none)."""

    path: Path
    caption: str
    source_id: str
    image_id: str = ""


def read_utf8(path: Path) -> str:
    """A text file's content; bad UTF-8 is a ``DataError`` naming the file and the byte offset."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid UTF-8 at byte offset {exc.start} ({exc.reason})") from None


def drop_empty_captions(pairs: list[CaptionedFile]) -> tuple[list[CaptionedFile], int]:
    """Pairs whose caption has text (whitespace stripped at both ends) and how many were dropped."""
    kept = [CaptionedFile(p.path, p.caption.strip(), p.source_id, p.image_id) for p in pairs if p.caption.strip()]
    return kept, len(pairs) - len(kept)


def fit_picture(picture: Image.Image, image_size: int, channels: int) -> np.ndarray:
    """uint8 ``[H, W, C]`` at ``image_size``: RGB or grey, shorter side scaled (bicubic), centre-cropped."""
    picture = picture.convert("L" if channels == 1 else "RGB")
    array = np.array(ImageOps.fit(picture, (image_size, image_size), Image.BICUBIC), dtype=np.uint8)
    return array[:, :, None] if array.ndim == 2 else array


def decode_image(path: Path, image_size: int, channels: int) -> np.ndarray | None:
    """uint8 ``[H, W, C]`` at ``image_size``, or None when the file cannot be read as an image."""
    return decode_file(path, partial(fit_picture, image_size=image_size, channels=channels))


def decode_images(paths: list[Path], image_size: int, channels: int, workers: int | None = None,
                  chunk: int = 256) -> Iterator[np.ndarray | None]:
    """``decode_image`` of every path, in order, on ``workers`` threads (``decoding.decode_files``)."""
    return decode_files(paths, partial(fit_picture, image_size=image_size, channels=channels), workers, chunk)


class DecodedFiles:
    """uint8 ``[N, C, S, S]`` images that are decoded from their files when indexed (``LazyImages``).

    Indexing takes what a tensor's first dimension takes: an int, a slice, or a sequence/tensor of indices.
    """

    dtype = torch.uint8

    def __init__(self, paths: list[Path], image_size: int, channels: int):
        self.paths, self.image_size, self.channels = list(paths), image_size, channels

    @property
    def shape(self) -> torch.Size:
        return torch.Size((len(self.paths), self.channels, self.image_size, self.image_size))

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: Any) -> torch.Tensor:
        if isinstance(index, slice):
            chosen = self.paths[index]
        else:
            rows = torch.as_tensor(index, dtype=torch.long)  # int, numpy integer, list or tensor of indices
            if rows.ndim == 0:
                return self[[int(rows)]][0]
            chosen = [self.paths[i] for i in rows.tolist()]
        images = torch.empty((len(chosen), self.channels, self.image_size, self.image_size), dtype=torch.uint8)
        for row, (path, array) in enumerate(zip(chosen, decode_images(chosen, self.image_size, self.channels))):
            if array is None:
                raise DataError(f"{path}: failed to decode, though it decoded when the data set was loaded "
                                f"(changed since?)")
            images[row] = torch.from_numpy(array).permute(2, 0, 1)
        return images


def load_captioned_files(pairs: list[CaptionedFile], request: DataRequest, source: str,
                         info: dict[str, Any] | None = None, identity: dict[str, Any] | None = None) -> ImageDataset:
    """The pairs whose image decodes at the request's size, as ``DecodedFiles``; failures are skipped,
    counted and bounded. The pixels are hashed as they decode (``ImageDataset.pixels_sha256``);
    ``identity`` joins the set's ``identity_source``."""
    pairs, empty = drop_empty_captions(pairs)
    if not pairs:
        raise DataError(f"{source}: no (image, caption) pairs with a non-empty caption")
    kept: list[CaptionedFile] = []
    failed: list[str] = []
    hasher = PixelHasher()
    fit = partial(fit_picture, image_size=request.image_size, channels=request.channels)
    for index, array in decode_within_budget([p.path for p in pairs], fit, request, source, failed):
        kept.append(pairs[index])
        hasher.add_hwc(array)
    images = DecodedFiles([p.path for p in kept], request.image_size, request.channels)
    captions = [p.caption for p in kept]
    record = {**(info or {}), "source": source, "pairs": len(pairs) + empty, "images": len(captions),
              "empty_captions_dropped": empty, "images_failed_to_decode": len(failed),
              "failed_files": failed[:20], "resize": RESIZE}
    source_identity = {**(identity or {}), "source_ids_sha256": sha256_json([p.source_id for p in kept]),
                       "skipped_files": failed}
    return ImageDataset(images=images, captions=captions, info=record, identity_source=source_identity,
                        pixels_sha256=hasher.hexdigest(),
                        selection=[{"image_id": p.image_id, "caption_id": p.source_id, "file": p.path.name,
                                    "caption": p.caption} for p in kept])
