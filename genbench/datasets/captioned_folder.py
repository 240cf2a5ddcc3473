"""``captioned-folder``: user data as (image, caption) pairs, e.g. a LAION subset.

The root is the protocol's ``data.path`` option, else ``--data-dir`` / ``GENBENCH_DATA``. A split is
either ``ROOT/<split>.jsonl`` — one JSON object per line, ``{"image": "relative/path.jpg",
"caption": "..."}`` — or, without that file, the folder ``ROOT/<split>/`` where each image
``name.png`` (``.jpg``, ``.jpeg``, ``.webp``) has its caption in ``name.txt``. Both are read as
strict UTF-8.
"""

from __future__ import annotations

import json
from pathlib import Path

from genbench.datasets.base import DataRequest, DatasetSpec, ImageDataset
from genbench.datasets.captioned import CaptionedFile, load_captioned_files, read_utf8
from genbench.datasets.decoding import DEFAULT_MAX_BAD_IMAGE_SHARE
from genbench.errors import DataError
from genbench.storage.images import IMAGE_SUFFIXES


def read_jsonl(path: Path) -> list[CaptionedFile]:
    """Pairs from a JSONL captions file; a malformed line is an error naming file and line."""
    pairs = []
    for number, line in enumerate(read_utf8(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            image, caption = entry["image"], entry["caption"]
        except (ValueError, TypeError, KeyError) as exc:
            raise DataError(f"{path}:{number}: expected {{\"image\": ..., \"caption\": ...}} "
                            f"({type(exc).__name__}: {exc})") from None
        if not isinstance(image, str) or not isinstance(caption, str):
            raise DataError(f"{path}:{number}: 'image' and 'caption' must be strings")
        pairs.append(CaptionedFile(path.parent / image, caption, f"line {number}"))
    return pairs


def read_sidecars(folder: Path) -> list[CaptionedFile]:
    """Pairs from images with a ``.txt`` caption file of the same stem; images without one are an error."""
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    missing = [p.name for p in images if not p.with_suffix(".txt").is_file()]
    if missing:
        raise DataError(f"{folder}: {len(missing)} images have no caption file (e.g. {missing[0]} needs "
                        f"{Path(missing[0]).with_suffix('.txt').name})")
    return [CaptionedFile(p, read_utf8(p.with_suffix(".txt")), p.name) for p in images]


def load_captioned_folder(request: DataRequest) -> ImageDataset:
    root = request.options.get("path") or request.root
    if root is None:
        raise DataError("captioned-folder needs a root: the protocol's data.path, --data-dir or $GENBENCH_DATA")
    root = Path(root)
    jsonl, folder = root / f"{request.split}.jsonl", root / request.split
    if jsonl.is_file():
        return load_captioned_files(read_jsonl(jsonl), request, str(jsonl))
    if folder.is_dir():
        return load_captioned_files(read_sidecars(folder), request, str(folder))
    raise DataError(f"captioned-folder split '{request.split}' not found: expected {jsonl} "
                    f"(lines of {{\"image\": ..., \"caption\": ...}}) or {folder}/ with name.png + name.txt pairs")


CAPTIONED_FOLDER = DatasetSpec(
    name="captioned-folder",
    description="user (image, caption) pairs: ROOT/<split>.jsonl or ROOT/<split>/ with .txt captions",
    load=load_captioned_folder,
    splits=(),
    settings={"path": None, "max_bad_image_share": DEFAULT_MAX_BAD_IMAGE_SHARE},
)
