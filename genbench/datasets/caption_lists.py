"""Published caption lists: a paper's or a benchmark's exact choice of captions, reused as it was published.

A caption list is a UTF-8, tab-separated file whose header names at least ``image_id`` and ``caption`` (an ``id``
column is the COCO caption id); row i is the caption image i is generated from. A protocol names one in its
``[data]`` table as ``caption_list``: the name of a list shipped with genbench (``SHIPPED``, files and their
source and licence in ``genbench/datasets/published_captions/``), or a path to any other file, which must then be
pinned by ``caption_list_sha256`` so that the fingerprint says which captions were used.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from genbench.errors import DataError
from genbench.trust.hashing import sha256_file

FOLDER = Path(__file__).with_name("published_captions")
#: Lists shipped in ``FOLDER``: name -> (file, SHA-256). Their sources are in ``FOLDER/README.md``.
SHIPPED = {
    "mlperf-sdxl-coco2014-5000": ("mlperf-sdxl-coco2014-5000.tsv",
                                  "2eeb95637b30fe5af26dd644bafa7affe4e5472ad0bda32d0feb1bd261280d5e"),
}
REQUIRED_COLUMNS = ("image_id", "caption")


@dataclass(frozen=True)
class CaptionRow:
    """One caption of a list: its image, its COCO caption id when the list gives one, and its text."""

    image_id: int
    caption_id: int | None
    caption: str


@dataclass(frozen=True)
class CaptionList:
    """A caption list as read: where from, its SHA-256 and its rows in order."""

    path: Path
    sha256: str
    rows: tuple[CaptionRow, ...]


def caption_list_path(value: str, pinned: str | None) -> tuple[Path, str]:
    """The file a ``caption_list`` setting names and the SHA-256 it must have."""
    if value in SHIPPED:
        file, digest = SHIPPED[value]
        if pinned and pinned != digest:
            raise DataError(f"caption list '{value}' ships with SHA-256 {digest}, the protocol pins {pinned}")
        return FOLDER / file, digest
    if not pinned:
        shipped = ", ".join(SHIPPED)
        raise DataError(f"caption list {value} is not one genbench ships ({shipped}): pin it in [data] as "
                        f"caption_list_sha256 = \"<its SHA-256>\" so the fingerprint names its content")
    return Path(value), pinned


def _int(text: str | None, column: str, line: int, path: Path) -> int | None:
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise DataError(f"caption list {path} line {line}: {column} '{text}' is not a whole number") from None


def read_caption_list(value: str, pinned: str | None) -> CaptionList:
    """The rows of the caption list ``value`` names, after its SHA-256 is checked against the pin."""
    path, expected = caption_list_path(value, pinned)
    if not path.is_file():
        raise DataError(f"caption list {path} does not exist")
    digest = sha256_file(path)
    if digest != expected:
        raise DataError(f"caption list {path} has SHA-256 {digest}, expected {expected} (another or an edited list)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"caption list {path} is not UTF-8 ({exc})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t")
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise DataError(f"caption list {path} has no '{missing[0]}' column (a tab-separated file with a header "
                        f"naming image_id and caption, optionally id)")
    rows = []
    for line, row in enumerate(reader, start=2):
        caption = row.get("caption")
        if not caption or not caption.strip():
            raise DataError(f"caption list {path} line {line}: empty caption")
        image_id = _int(row["image_id"], "image_id", line, path)
        if image_id is None:
            raise DataError(f"caption list {path} line {line}: no image_id")
        rows.append(CaptionRow(image_id, _int(row.get("id"), "id", line, path), caption))
    if not rows:
        raise DataError(f"caption list {path} has no rows")
    return CaptionList(path, digest, tuple(rows))
