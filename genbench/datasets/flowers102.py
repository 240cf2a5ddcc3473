"""Oxford Flowers 102 (Nilsback & Zisserman 2008) as in seed 000's Keras example: centred square crops.

Read from ``ROOT/flowers-102/`` (torchvision's layout: ``jpg/image_NNNNN.jpg``, ``imagelabels.mat``,
``setid.mat``). The two .mat files are checked against the official release's MD5 (a mismatch names
the file) and read by scipy, not unpickled; a split naming an image without a label is refused.
Each image is decoded through ``genbench.datasets.decoding`` (a damaged jpg is named and counted
against ``max_bad_image_share``), cropped to its centred square and resized with antialiasing to
the protocol's size. Besides torchvision's ``train`` / ``val`` / ``test`` (1 020 / 1 020 / 6 149
images), the Keras example's split is offered: ``keras-train`` is the first 80 % of each of the
three official splits and ``keras-val`` the last 20 % (its "train[:80%]+validation[:80%]+test[:80%]").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io
import torch
from PIL import Image

from genbench.datasets.base import DataRequest, DatasetSpec, ImageDataset
from genbench.datasets.decoding import DEFAULT_MAX_BAD_IMAGE_SHARE, decode_within_budget
from genbench.datasets.local import Distribution, fit_images, locate, verify_md5
from genbench.errors import DataError

FOLDER = "flowers-102"
DISTRIBUTION = Distribution("Oxford Flowers 102", (f"{FOLDER}/{{jpg/image_NNNNN.jpg,imagelabels.mat,setid.mat}}",),
                            "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/")
OFFICIAL = {"train": "trnid", "val": "valid", "test": "tstid"}
KERAS = ("keras-train", "keras-val")
KERAS_FRACTION = 0.8


def mat_files(root: Path) -> list[tuple[Path, str]]:
    """``imagelabels.mat`` and ``setid.mat`` with their official MD5s (torchvision's list)."""
    import torchvision  # seconds to import: only when the data set is read

    listed = torchvision.datasets.Flowers102._file_dict
    return [(root / FOLDER / listed[key][0], listed[key][1]) for key in ("label", "setid")]


def complete(root: Path) -> bool:
    return (root / FOLDER / "jpg").is_dir() and all(path.is_file() for path, _ in mat_files(root))


def official_split(base: Path, split: str) -> list[tuple[Path, int]]:
    """``(jpg, label 0-101)`` of an official split, in ``setid.mat``'s order; an image without a label is an error."""
    ids = np.atleast_1d(scipy.io.loadmat(base / "setid.mat", squeeze_me=True)[OFFICIAL[split]]).tolist()
    labels = np.atleast_1d(scipy.io.loadmat(base / "imagelabels.mat", squeeze_me=True)["labels"]).tolist()
    unlabelled = next((image_id for image_id in ids if not 1 <= image_id <= len(labels)), None)
    if unlabelled is not None:
        raise DataError(f"{base / 'setid.mat'} names image {unlabelled} in '{OFFICIAL[split]}', "
                        f"{base / 'imagelabels.mat'} has labels for images 1 to {len(labels)} only: the two files "
                        f"are not of one copy of Flowers 102")
    return [(base / "jpg" / f"image_{image_id:05d}.jpg", labels[image_id - 1] - 1) for image_id in ids]


def split_entries(base: Path, split: str) -> list[tuple[Path, int]]:
    """An official split, or the Keras example's 80 / 20 cut of each of the three, concatenated."""
    if split in OFFICIAL:
        return official_split(base, split)
    entries = []
    for official in OFFICIAL:
        part = official_split(base, official)
        cut = round(KERAS_FRACTION * len(part))
        entries += part[:cut] if split == "keras-train" else part[cut:]
    return entries


def load_flowers102(request: DataRequest) -> ImageDataset:
    """An official split, or the Keras example's 80 / 20 split over all three."""
    import torchvision  # seconds to import: only when the data set is read
    from torchvision.transforms.v2 import functional as TF

    if request.split not in (*OFFICIAL, *KERAS):
        raise DataError(f"flowers102 has splits {', '.join((*OFFICIAL, *KERAS))}, not '{request.split}'")
    root = locate(DISTRIBUTION, request, complete, lambda root: torchvision.datasets.Flowers102(root, download=True))
    verify_md5(DISTRIBUTION, mat_files(root))
    entries = split_entries(root / FOLDER, request.split)

    def fit(picture: Image.Image) -> torch.Tensor:
        return fit_images(TF.pil_to_tensor(picture.convert("RGB")).unsqueeze(0), request)[0]

    failed: list[str] = []
    decoded = list(decode_within_budget([path for path, _ in entries], fit, request, str(root / FOLDER / "jpg"),
                                        failed))
    images = [image for _, image in decoded]
    empty = torch.empty(0, request.channels, request.image_size, request.image_size, dtype=torch.uint8)
    return ImageDataset(images=torch.stack(images) if images else empty,
                        labels=torch.tensor([entries[index][1] for index, _ in decoded], dtype=torch.long),
                        num_classes=102,
                        info={"images": len(decoded), "images_failed_to_decode": len(failed),
                              "failed_files": failed[:20]},
                        identity_source={"skipped_files": failed})


FLOWERS102 = DatasetSpec(
    name="flowers102",
    description="Oxford Flowers 102, centred square crops resized with antialiasing (torchvision layout)",
    load=load_flowers102,
    splits=(*OFFICIAL, *KERAS),
    settings={"max_bad_image_share": DEFAULT_MAX_BAD_IMAGE_SHARE},
)
