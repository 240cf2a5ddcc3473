"""Images made elsewhere, read as uint8 ``[N, C, H, W]``: a folder of image files or an ``.npz`` array.

A folder's files (png, jpg, jpeg, bmp, webp; not recursive) are read in sorted name order, so
image *i* is the *i*-th name; each is converted to RGB, or kept grey when every file in the folder
is grey. An ``.npz`` holds one uint8 array ``[N, H, W, C]`` (or ``[N, H, W]`` for grey), as
guided-diffusion / ADM sample files do. All images of a set must have the same size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from genbench.errors import DataError
from genbench.protocols.protocol import Protocol
from genbench.storage.images import IMAGE_SUFFIXES


def image_files(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name; an empty or missing folder is an error."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"samples folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DataError(f"samples folder {folder} has no image files ({', '.join(IMAGE_SUFFIXES)})")
    return files


def load_image_folder(folder: Path) -> torch.Tensor:
    """uint8 ``[N, C, H, W]``: C = 1 when every file is grey ('L'), else 3 (PIL ``convert('RGB')``)."""
    files = image_files(folder)
    try:
        loaded = []
        for path in files:
            with Image.open(path) as img:
                loaded.append(img.convert("L" if img.mode == "L" else "RGB"))
    except (OSError, UnidentifiedImageError) as exc:
        raise DataError(f"samples folder {folder}: cannot read an image ({exc})") from None
    grey = all(img.mode == "L" for img in loaded)
    arrays = [np.asarray(img if grey else img.convert("RGB")) for img in loaded]
    first = arrays[0].shape[:2]
    for path, array in zip(files, arrays):
        if array.shape[:2] != first:
            raise DataError(f"samples folder {folder}: {path.name} is {array.shape[1]}x{array.shape[0]}, "
                            f"{files[0].name} is {first[1]}x{first[0]}; all images must have one size")
    stacked = np.stack(arrays)
    if grey:
        stacked = stacked[..., None]
    return torch.from_numpy(stacked).permute(0, 3, 1, 2).contiguous()


def load_npz(path: Path) -> torch.Tensor:
    """The single uint8 array of an ``.npz`` file, ``[N, H, W, C]`` or ``[N, H, W]`` -> ``[N, C, H, W]``."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            if len(names) != 1:
                raise DataError(f"{path} holds {len(names)} arrays ({', '.join(names)}); genbench reads a file "
                                f"with exactly one uint8 array [N, H, W, C]")
            array = archive[names[0]]
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} is not a readable .npz file ({exc})") from None
    if array.dtype != np.uint8 or array.ndim not in (3, 4) or (array.ndim == 4 and array.shape[3] not in (1, 3)):
        raise DataError(f"{path}: array '{names[0]}' is {array.dtype} of shape {array.shape}; "
                        f"expected uint8 [N, H, W, C] with C = 1 or 3")
    if array.ndim == 3:
        array = array[..., None]
    return torch.from_numpy(np.ascontiguousarray(array)).permute(0, 3, 1, 2).contiguous()


def load_samples(path: Path) -> torch.Tensor:
    """A folder of images or an ``.npz`` file, as uint8 ``[N, C, H, W]``."""
    path = Path(path)
    if path.suffix.lower() == ".npz" and path.is_file():
        return load_npz(path)
    return load_image_folder(path)


def load_captions(path: Path, count: int) -> list[str]:
    """One caption per line (UTF-8), exactly ``count`` of them, in sample order."""
    try:
        captions = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"captions file {path} cannot be read ({exc})") from None
    if len(captions) != count:
        raise DataError(f"captions file {path} has {len(captions)} lines for {count} samples; "
                        f"give one caption per sample, in sample order")
    return captions


def fit_to_protocol(images: torch.Tensor, protocol: Protocol, source: Path) -> tuple[torch.Tensor, str | None]:
    """The samples in the protocol's format, and the conversion applied (None when none was needed)."""
    size, channels = protocol.data.image_size, protocol.data.channels
    height, width = images.shape[2], images.shape[3]
    if (height, width) != (size, size):
        raise DataError(f"samples {source} are {width}x{height}; protocol '{protocol.name}' evaluates "
                        f"{size}x{size} images (resize them the way your model's paper does, then score again)")
    if images.shape[1] == channels:
        return images, None
    if images.shape[1] == 1 and channels == 3:
        return images.expand(-1, 3, -1, -1).contiguous(), "grey samples repeated to 3 channels"
    raise DataError(f"samples {source} have {images.shape[1]} channels; protocol '{protocol.name}' evaluates "
                    f"grey images (convert them to grey first)")
