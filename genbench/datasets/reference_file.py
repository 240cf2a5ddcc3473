"""``reference-file``: a reference set read from one published file instead of a data set's images.

The file is an ADM reference batch, a pytorch-fid / torch-fidelity / clean-fid statistics ``.npz``, one genbench
wrote (``--export-stats``) or EDM2's ``.pkl`` (``genbench.storage.statistics_files``). Its statistics go to the
Fréchet distances computed in their feature space; its images (``arr_0``), if any, are the reference images every
other two-set metric reads, read a chunk at a time from the uncompressed archive and used at their own size (a
batch whose images are not the protocol's size is refused). The set's reference identity is the file's SHA-256.

Where it is: ``--reference-file PATH``, else ``file`` under the data root (``--data-dir`` / ``$GENBENCH_DATA`` or
``CACHE/data``). Nothing is downloaded: a missing file is one line with ``source``, where it comes from. The file
names no conditions, so ``num_classes`` gives a class-conditional protocol its classes, and ``caption_list``
(``genbench.datasets.caption_lists``) a text-to-image protocol its captions (statistics files only). A file that
does not say which network made its statistics is read by its names' convention; ``statistics`` (``{mu =
"EXTRACTOR/FEATURE"}``) says instead which of the protocol's extractor features a pair holds
(``genbench.evaluation.reference_plan``), e.g. pytorch-fid statistics for clean-fid's ``legacy_pytorch`` mode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from genbench.datasets.base import DataRequest, DatasetSpec, ImageDataset
from genbench.datasets.caption_lists import read_caption_list
from genbench.datasets.local import data_root
from genbench.errors import DataError
from genbench.storage.npz_files import NpzMember, read_rows
from genbench.storage.statistics_files import StatisticsFile, read_statistics_file

NAME = "reference-file"
#: The request option through which ``--reference-file`` gives the file's path (not a protocol setting).
PATH_OPTION = "path"


class NpzImages:
    """``arr_0`` of a batch as ``LazyImages``: uint8 ``[N, C, H, W]`` read from the file only when indexed."""

    dtype = torch.uint8

    def __init__(self, member: NpzMember):
        self.member = member

    @property
    def shape(self) -> torch.Size:
        n, h, w, c = self.member.shape
        return torch.Size((n, c, h, w))

    def __len__(self) -> int:
        return self.member.shape[0]

    def _rows(self, start: int, stop: int) -> torch.Tensor:
        return torch.from_numpy(read_rows(self.member, start, stop).copy()).permute(0, 3, 1, 2).contiguous()

    def __getitem__(self, index: Any) -> torch.Tensor:
        if isinstance(index, slice) and index.step in (None, 1):
            start, stop, _ = index.indices(len(self))
            return self._rows(start, stop)
        if isinstance(index, int):
            return self._rows(index, index + 1)[0]
        rows = np.arange(len(self))[index]
        return torch.stack([self._rows(int(i), int(i) + 1)[0] for i in np.atleast_1d(rows)])


def reference_path(request: DataRequest) -> Path:
    """The file ``--reference-file`` gives, else the protocol's ``file`` under the data root."""
    options = request.options
    if options.get(PATH_OPTION):
        return Path(options[PATH_OPTION])
    name = options.get("file")
    if not name:
        raise DataError(f"data set '{NAME}' needs the file: [data] file = \"NAME\" in the protocol, or "
                        f"--reference-file PATH")
    root = data_root(request).path
    path = root / name
    if not path.is_file():
        source = options.get("source") or "the publication that names it"
        raise DataError(f"{name} not found under {root}: download it from {source} into that directory (pass it "
                        f"with --data-dir or $GENBENCH_DATA) or give it with --reference-file PATH")
    return path


def _images(loaded: StatisticsFile, request: DataRequest) -> torch.Tensor | NpzImages:
    """The batch's images when it has any (checked against the protocol's size), else an empty set."""
    if loaded.images is None:
        return torch.empty((0, request.channels, request.image_size, request.image_size), dtype=torch.uint8)
    n, h, w, c = loaded.images.shape
    if (h, w, c) != (request.image_size, request.image_size, request.channels):
        raise DataError(f"{loaded.path}: arr_0 holds {w}x{h} images with {c} channels; the protocol evaluates "
                        f"{request.image_size}x{request.image_size} with {request.channels} (a reference batch is "
                        f"used at its own size: choose the batch made for this resolution)")
    return NpzImages(loaded.images)


def load_reference_file(request: DataRequest) -> ImageDataset:
    """The set a reference file holds (see the module doc)."""
    options = request.options
    loaded = read_statistics_file(reference_path(request))
    captions, caption_list = None, None
    if options.get("caption_list"):
        if loaded.images is not None:
            raise DataError(f"{loaded.path} holds images (arr_0); a caption list goes with a statistics-only file, "
                            f"since captions would have to be one per reference image")
        caption_list = read_caption_list(options["caption_list"], options.get("caption_list_sha256"))
        captions = [row.caption for row in caption_list.rows]
    labels = torch.from_numpy(loaded.labels) if loaded.labels is not None else None
    num_classes = options.get("num_classes")
    spaces = {s.name: {"space": s.space.label(), "how_known": s.space.note, "count": s.count}
              for s in loaded.statistics}
    info = {"file": str(loaded.path), "format": loaded.format, "statistics": spaces,
            "caption_list_sha256": caption_list.sha256 if caption_list else None}
    source = {"file": loaded.path.name, "format": loaded.format, "statistics": sorted(spaces),
              "images": loaded.images is not None, "labels": loaded.labels is not None}
    return ImageDataset(_images(loaded, request), labels=labels, captions=captions,
                        num_classes=int(num_classes) if num_classes else None, info=info, identity_source=source,
                        statistics=loaded.statistics, file_sha256=loaded.sha256)


REFERENCE_FILE = DatasetSpec(
    name=NAME,
    description="a published reference file: an ADM reference batch (images and statistics), FID statistics (.npz "
                "mu/sigma) or EDM2's .pkl, read without unpickling; its SHA-256 is the reference identity",
    load=load_reference_file,
    splits=("reference",),
    settings={"file": None, "source": None, "num_classes": None, "caption_list": None, "caption_list_sha256": None,
              "statistics": None},
)
