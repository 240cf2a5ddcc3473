"""``coco``: COCO captions (2014 or 2017) from a root directory, with a seeded one-caption-per-image choice.

Layout under ROOT (``--data-dir`` / ``GENBENCH_DATA``, or ``~/.cache/genbench/data``) ``/coco``::

    annotations/captions_val2014.json     (captions_<split><year>.json)
    val2014/COCO_val2014_000000000042.jpg (the file_name each image entry names)

When the files are missing, the official zips are downloaded and unpacked there
(torchvision's ``download_and_extract_archive``) only where ``genbench.datasets.local.data_root``
allows it: online, into the cache, never into a ``--data-dir``; else a one-line error names the
layout and the source. The captions file's shape is checked once (``coco_schema``).
Selection (``num_captions`` > 0): image ids with at least one non-empty caption,
sorted; ``numpy.random.default_rng(selection_seed).choice`` picks ``num_captions`` of them
without replacement; then, in ascending image id, the same generator picks one of each image's
captions (sorted by caption id). The SHA-256 of the chosen ``image_id<TAB>caption_id`` lines (in
that order) and the annotation file's SHA-256 are recorded and part of the reference identity;
when the protocol pins ``selection_sha256``, it is checked. ``genbench reference --export-selection``
writes the list.

With ``caption_list`` (``genbench.datasets.caption_lists``: a shipped list's name, or a path pinned by
``caption_list_sha256``), the selection is that list's rows in order instead, exactly as a paper or benchmark
published them (``num_captions``, when not 0, must be its length); each row's image (and caption id, when the
list gives one) must be in the annotation file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from genbench.datasets.base import DataRequest, DatasetSpec, ImageDataset
from genbench.datasets.caption_lists import read_caption_list
from genbench.datasets.captioned import CaptionedFile, load_captioned_files, read_utf8
from genbench.datasets.coco_schema import checked_image_files
from genbench.datasets.decoding import DEFAULT_MAX_BAD_IMAGE_SHARE
from genbench.datasets.local import data_root
from genbench.errors import DataError
from genbench.storage.downloads import DownloadFailed, attempt
from genbench.trust.hashing import sha256_file

ANNOTATIONS_URL = "http://images.cocodataset.org/annotations/annotations_trainval{year}.zip"
IMAGES_URL = "http://images.cocodataset.org/zips/{split}{year}.zip"


def coco_paths(root: Path, split: str, year: int) -> tuple[Path, Path]:
    """The captions file and the image folder of one split."""
    return root / "annotations" / f"captions_{split}{year}.json", root / f"{split}{year}"


def ensure_coco(root: Path, split: str, year: int, no_download: str | None) -> tuple[Path, Path]:
    """The split's files, downloaded when missing and ``no_download`` is None; else a one-line error with the
    layout and ``no_download`` (why nothing was downloaded)."""
    captions, images = coco_paths(root, split, year)
    sources = [(captions, ANNOTATIONS_URL.format(year=year)), (images, IMAGES_URL.format(split=split, year=year))]
    missing = [(path, url) for path, url in sources if not path.exists()]
    reason = no_download
    if missing and reason is None:
        from torchvision.datasets.utils import download_and_extract_archive

        reason = "the downloaded archives did not contain it"
        try:
            for _, url in missing:
                attempt(lambda url=url: download_and_extract_archive(url, download_root=str(root)))
        except DownloadFailed as failed:
            reason = f"the download failed ({failed.reason})"
        missing = [(path, url) for path, url in missing if not path.exists()]
    if missing:
        wanted = ", ".join(f"{p.relative_to(root)}{'/*.jpg' if p.suffix != '.json' else ''} (from {u})"
                           for p, u in missing)
        raise DataError(f"COCO {split}{year} not found under {root} and {reason}: expected {wanted}; "
                        f"unzip them there or pass --data-dir")
    return captions, images


def select_captions(annotations: dict[str, Any], count: int, seed: int) -> list[tuple[int, int, str]]:
    """``(image_id, caption_id, caption)`` of ``count`` images, one caption each (the rule in the module doc)."""
    by_image: dict[int, list[tuple[int, str]]] = {}
    for entry in annotations["annotations"]:
        if str(entry["caption"]).strip():
            by_image.setdefault(int(entry["image_id"]), []).append((int(entry["id"]), str(entry["caption"])))
    image_ids = sorted(by_image)
    if count > len(image_ids):
        raise DataError(f"COCO selection of {count} captions needs {count} captioned images, the file has "
                        f"{len(image_ids)}")
    rng = np.random.default_rng(seed)
    chosen = sorted(image_ids[i] for i in rng.choice(len(image_ids), size=count, replace=False))
    selection = []
    for image_id in chosen:
        options = sorted(by_image[image_id])
        caption_id, caption = options[int(rng.integers(len(options)))]
        selection.append((image_id, caption_id, caption))
    return selection


def listed_captions(annotations: dict[str, Any], files: dict[int, str], options: dict[str, Any],
                    where: Path) -> list[tuple[int, int, str]]:
    """``(image_id, caption_id, caption)`` of a published caption list, each checked against the annotations
    (``files``: their images); a row without a caption id gets -1."""
    listed = read_caption_list(str(options["caption_list"]), options.get("caption_list_sha256"))
    count = int(options.get("num_captions", 0))
    if count and count != len(listed.rows):
        raise DataError(f"caption list {listed.path} has {len(listed.rows)} captions, the protocol's num_captions is "
                        f"{count}")
    captions = {int(entry["id"]): int(entry["image_id"]) for entry in annotations["annotations"]}
    selection = []
    for row in listed.rows:
        if row.image_id not in files:
            raise DataError(f"caption list {listed.path}: image {row.image_id} is not in {where}")
        if row.caption_id is not None and captions.get(row.caption_id) != row.image_id:
            raise DataError(f"caption list {listed.path}: caption {row.caption_id} of image {row.image_id} is not in "
                            f"{where}")
        selection.append((row.image_id, -1 if row.caption_id is None else row.caption_id, row.caption))
    return selection


def selection_sha256(selection: list[tuple[int, int, str]]) -> str:
    """SHA-256 of the selected ``image_id<TAB>caption_id`` lines, in selection order (joined by newlines)."""
    lines = (f"{image_id}\t{caption_id}" for image_id, caption_id, _ in selection)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def load_coco(request: DataRequest) -> ImageDataset:
    options = request.options
    year = int(options.get("year", 2014))
    if year not in (2014, 2017) or request.split not in ("train", "val"):
        raise DataError(f"coco has splits 'train' and 'val' of 2014 or 2017, not '{request.split}' {year}")
    root = data_root(request)
    captions_file, image_dir = ensure_coco(root.path / "coco", request.split, year, root.no_download)
    try:
        annotations = json.loads(read_utf8(captions_file))
    except ValueError as exc:
        raise DataError(f"{captions_file}: not valid JSON ({exc})") from None
    files = checked_image_files(annotations, captions_file)
    count = int(options.get("num_captions", 0))
    if options.get("caption_list"):
        selection = listed_captions(annotations, files, options, captions_file)
    elif count > 0:
        selection = select_captions(annotations, count, int(options.get("selection_seed", 0)))
    else:
        selection = [(int(a["image_id"]), int(a["id"]), str(a["caption"])) for a in annotations["annotations"]]
    digest = selection_sha256(selection)
    pinned = options.get("selection_sha256")
    mismatch = {"selection_sha256": {"expected": pinned, "found": digest}} if pinned and pinned != digest else None
    if mismatch and not request.allow_mismatch:
        raise DataError(f"{captions_file}: the seeded caption selection hashes to {digest[:16]}..., the protocol "
                        f"pins {str(pinned)[:16]}... (a different annotations file?); pass --allow-reference-mismatch "
                        f"to score against this selection under its own fingerprint")
    pairs = [CaptionedFile(image_dir / files[image_id], caption, str(caption_id), str(image_id))
             for image_id, caption_id, caption in selection]
    identity = {"annotations_sha256": sha256_file(captions_file), "selection_sha256": digest}
    info = {**identity, "num_selected": len(selection), **({"mismatch": mismatch} if mismatch else {})}
    return load_captioned_files(pairs, request, str(captions_file), info, identity)


COCO = DatasetSpec(
    name="coco",
    description="COCO captions 2014/2017 (root dir; downloads when online), seeded one-caption-per-image choice",
    load=load_coco,
    splits=("train", "val"),
    settings={"year": 2014, "num_captions": 0, "selection_seed": 0, "selection_sha256": None,
              "max_bad_image_share": DEFAULT_MAX_BAD_IMAGE_SHARE, "caption_list": None, "caption_list_sha256": None},
)
