"""Images made elsewhere, read as uint8 ``[N, C, H, W]``: a folder of image files or an ``.npz`` batch.

A folder's files (png, jpg, jpeg, bmp, webp; not recursive) are read in sorted name order, so
image *i* is the *i*-th name; each is converted to RGB, or kept grey when every file in the folder
is grey. An ``.npz`` holds the batch the way guided-diffusion's and DiT's samplers write it
(``np.savez``): ``arr_0``, uint8 ``[N, H, W, C]`` (or ``[N, H, W]`` for grey), and for
class-conditional samples ``arr_1``, the N integer classes they were made for (a file with one
array of another name is read as that array). Each array's declared shape and dtype are checked
from its header before its data is read, and nothing is unpickled. All images of a set must have the
same size. Captions come one per line in sample order, or as JSONL objects ``{"file", "caption"}``
that name a folder's image files.
"""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

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


#: The arrays of a guided-diffusion / DiT sample batch: images, then (class-conditional) their classes.
NPZ_IMAGES, NPZ_LABELS = "arr_0", "arr_1"


@dataclass
class Samples:
    """Samples read from disk: uint8 ``[N, C, H, W]`` images, their classes (an ``.npz``'s ``arr_1``) and the
    image file names (a folder's, sorted)."""

    images: torch.Tensor
    labels: list[int] | None = None
    files: list[str] | None = None


def npz_header(archive: Any, name: str, path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype an ``.npz`` member declares in its ``.npy`` header, read without its data; a header that
    declares more (or fewer) bytes than the member holds is refused before anything is allocated."""
    with archive.zip.open(f"{name}.npy") as member:
        version = np.lib.format.read_magic(member)
        readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        if version not in readers:
            raise DataError(f"{path}: array '{name}' is in .npy format {version[0]}.{version[1]}; genbench reads "
                            f"1.0 and 2.0 (what np.savez writes)")
        shape, _, dtype = readers[version](member)
        held = archive.zip.getinfo(f"{name}.npy").file_size - member.tell()
    declared = math.prod(shape) * dtype.itemsize
    if not dtype.hasobject and declared != held:
        raise DataError(f"{path}: array '{name}' declares {dtype} of shape {tuple(shape)} ({declared} bytes) but "
                        f"holds {held} bytes (a truncated or altered file)")
    return tuple(shape), dtype


def check_npz(archive: Any, path: Path) -> tuple[str, bool]:
    """The name of the images array and whether labels come with it, from the headers alone."""
    names = list(archive.files)
    single = len(names) == 1
    if not single and (NPZ_IMAGES not in names or set(names) - {NPZ_IMAGES, NPZ_LABELS}):
        raise DataError(f"{path} holds arrays {', '.join(names)}; genbench reads '{NPZ_IMAGES}' (uint8 images "
                        f"[N, H, W, C]) and, for class-conditional samples, '{NPZ_LABELS}' (their N integer classes)")
    images = names[0] if single else NPZ_IMAGES
    shape, dtype = npz_header(archive, images, path)
    if dtype != np.uint8 or len(shape) not in (3, 4) or (len(shape) == 4 and shape[3] not in (1, 3)):
        raise DataError(f"{path}: array '{images}' is {dtype} of shape {shape}; expected uint8 [N, H, W, C] with "
                        f"C = 1 or 3")
    if NPZ_LABELS not in names or single:
        return images, False
    label_shape, label_dtype = npz_header(archive, NPZ_LABELS, path)
    if label_dtype.kind not in "iu" or label_shape != shape[:1]:
        raise DataError(f"{path}: array '{NPZ_LABELS}' is {label_dtype} of shape {label_shape}; expected the "
                        f"{shape[0]} integer classes of the {shape[0]} images, shape ({shape[0]},)")
    return images, True


def load_npz(path: Path) -> Samples:
    """The images of an ``.npz`` batch as ``[N, C, H, W]``, with its labels when it has ``arr_1``."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            images, labelled = check_npz(archive, path)
            array = archive[images]
            labels = archive[NPZ_LABELS].astype(np.int64).tolist() if labelled else None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path} is not a readable .npz file ({exc})") from None
    if array.ndim == 3:
        array = array[..., None]
    return Samples(torch.from_numpy(np.ascontiguousarray(array)).permute(0, 3, 1, 2).contiguous(), labels)


def load_samples(path: Path) -> Samples:
    """A folder of images or an ``.npz`` file (``Samples``: images, labels, file names)."""
    path = Path(path)
    if path.suffix.lower() == ".npz" and path.is_file():
        return load_npz(path)
    return Samples(load_image_folder(path), files=[file.name for file in image_files(path)])


def load_captions(path: Path, count: int, files: list[str] | None = None) -> list[str]:
    """The samples' captions in sample order: a text file with one per line (exactly ``count``), or a ``.jsonl``
    file naming each of the folder's ``files`` once (``jsonl_captions``)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"captions file {path} cannot be read ({exc})") from None
    if Path(path).suffix.lower() == ".jsonl":
        return jsonl_captions(path, text, files)
    captions = text.splitlines()
    if len(captions) != count:
        raise DataError(f"captions file {path} has {len(captions)} lines for {count} samples; "
                        f"give one caption per sample, in sample order")
    return captions


def jsonl_captions(path: Path, text: str, files: list[str] | None) -> list[str]:
    """Captions from JSONL lines ``{"file": NAME, "caption": TEXT}``, NAME an image of the samples folder (a path's
    last part), each image exactly once, returned in the folder's order."""
    if files is None:
        raise DataError(f"captions file {path} names image files (JSONL of file, caption); it needs a samples folder, "
                        f"not an .npz (give an .npz's captions one per line)")
    by_file: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"captions file {path}, line {number}: not JSON ({exc.msg})") from None
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("file", "caption")):
            raise DataError(f"captions file {path}, line {number}: expected an object with text fields 'file' and "
                            f"'caption'")
        name = PurePath(entry["file"]).name
        if name not in files:
            raise DataError(f"captions file {path}, line {number}: '{entry['file']}' is not an image of the samples "
                            f"folder")
        if name in by_file:
            raise DataError(f"captions file {path}, line {number}: '{name}' has a caption already")
        by_file[name] = entry["caption"]
    missing = [name for name in files if name not in by_file]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DataError(f"captions file {path} has no caption for {missing[0]}{more}; give every image one")
    return [by_file[name] for name in files]


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
