"""The content identity of a reference set: what was actually read, not what the data set is called.

Two copies of "CIFAR-10" that differ (another release, a corrupt download, other images that
fail to decode, another caption file) must not share a fingerprint. The identity is the SHA-256
of a small canonical JSON of:

- ``shape``: ``[N, C, H, W]``;
- ``pixels_sha256``: SHA-256 over the decoded uint8 pixels, image after image in index order,
  each as its ``[C, H, W]`` bytes (C-contiguous): ``hashlib.sha256(images.numpy().tobytes())``;
- ``labels_sha256`` / ``captions_sha256``: SHA-256 of the labels (as a JSON list of ints) and of
  the captions (a JSON list of strings), or None;
- ``source``: what the loader read besides pixels: skipped files, annotation file and caption
  selection hashes (``ImageDataset.identity_source``).

Loaders that decode every file at load anyway (captioned sets) hash the pixels in that pass
(``PixelHasher``), so no image is decoded a second time to identify the set.

A set read from one file (an ADM reference batch, a statistics file) is identified by that file's SHA-256
alone (``sha256sum FILE``), so a protocol can pin the file a paper names; ``parts`` records what it held.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol

from genbench.trust.hashing import PixelHasher, sha256_json

#: Images hashed per step when the pixels must be read from the set (lazy sets without a loader hash).
_CHUNK = 256


class ReadSet(Protocol):
    """What identifies a set of images as read (``genbench.datasets.base.ImageDataset`` has these fields)."""

    images: Any
    labels: Any
    captions: list[str] | None
    identity_source: dict[str, Any]
    pixels_sha256: str | None
    file_sha256: str | None

    def __len__(self) -> int: ...


def pixels_sha256(dataset: ReadSet) -> str:
    """The set's ``pixels_sha256``: from its loader when it hashed at load, else read from the images."""
    if dataset.pixels_sha256 is not None:
        return dataset.pixels_sha256
    hasher = PixelHasher()
    for start in range(0, len(dataset), _CHUNK):
        hasher.add_chw(dataset.images[start:start + _CHUNK])
    return hasher.hexdigest()


def _list_sha256(values: list[Any] | None) -> str | None:
    if values is None:
        return None
    return hashlib.sha256(json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def reference_identity(dataset: ReadSet) -> dict[str, Any]:
    """``{"sha256": ..., "parts": {...}}``: the set's identity and what it is made of (see the module doc)."""
    if dataset.file_sha256 is not None:
        parts = {"file_sha256": dataset.file_sha256, "shape": list(dataset.images.shape),
                 "source": dataset.identity_source}
        return {"sha256": dataset.file_sha256, "parts": parts}
    parts = {
        "shape": list(dataset.images.shape),
        "pixels_sha256": pixels_sha256(dataset),
        "labels_sha256": _list_sha256(dataset.labels.tolist() if dataset.labels is not None else None),
        "captions_sha256": _list_sha256(dataset.captions),
        "source": dataset.identity_source,
    }
    return {"sha256": sha256_json(parts), "parts": parts}
