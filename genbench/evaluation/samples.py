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
from dataclasses import dataclass
from pathlib import Path, PurePath

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from genbench.errors import DataError
from genbench.evaluation.preflight import machine_memory
from genbench.protocols.protocol import Protocol
from genbench.storage.images import IMAGE_SUFFIXES, eight_bit
from genbench.storage.npz_files import NpzMember, npz_members, read_array


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
    """uint8 ``[N, C, H, W]``: C = 1 when every file is grey, else 3 (``read_image_folder``)."""
    return read_image_folder(folder).images


def read_image_folder(folder: Path) -> "Samples":
    """A folder's images as uint8 ``[N, C, H, W]`` (C = 1 when every file is grey, else 3), their file names and
    the rules that made files 8-bit grey or RGB (``genbench.storage.images.eight_bit``: 16-bit, 1-bit, an opaque
    alpha channel)."""
    files = image_files(folder)
    loaded, rules = [], set()
    for path in files:
        try:
            with Image.open(path) as img:
                picture, rule = eight_bit(img, f"samples folder {folder}: {path.name}")
                picture.load()
        except Image.DecompressionBombError as exc:
            raise DataError(f"samples folder {folder}: {path.name} is refused as a decompression bomb ({exc})") \
                from None
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            raise DataError(f"samples folder {folder}: cannot read {path.name} as an image ({exc})") from None
        loaded.append(picture)
        if rule:
            rules.add(rule)
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
    return Samples(torch.from_numpy(stacked).permute(0, 3, 1, 2).contiguous(), files=[path.name for path in files],
                   decoding=sorted(rules) or None)


#: The arrays of a guided-diffusion / DiT sample batch: images, then (class-conditional) their classes.
NPZ_IMAGES, NPZ_LABELS = "arr_0", "arr_1"


@dataclass
class Samples:
    """Samples read from disk: uint8 ``[N, C, H, W]`` images, their classes (an ``.npz``'s ``arr_1``) and the
    image file names (a folder's, sorted)."""

    images: torch.Tensor
    labels: list[int] | None = None
    files: list[str] | None = None
    #: How files that were not 8-bit grey or RGB were read (16-bit, 1-bit, opaque alpha), recorded with the result.
    decoding: list[str] | None = None


def check_npz(members: dict[str, NpzMember], path: Path) -> tuple[NpzMember, NpzMember | None]:
    """The images array and, when it comes with them, the labels array, from the headers alone: their types and
    shapes, and images that fit in half the machine's memory (a small file can declare gigabytes)."""
    names = list(members)
    single = len(names) == 1
    if not single and (NPZ_IMAGES not in names or set(names) - {NPZ_IMAGES, NPZ_LABELS}):
        raise DataError(f"{path} holds arrays {', '.join(names)}; genbench reads '{NPZ_IMAGES}' (uint8 images "
                        f"[N, H, W, C]) and, for class-conditional samples, '{NPZ_LABELS}' (their N integer classes)")
    images = members[names[0] if single else NPZ_IMAGES]
    shape = images.shape
    if images.dtype != np.uint8 or len(shape) not in (3, 4) or (len(shape) == 4 and shape[3] not in (1, 3)):
        raise DataError(f"{path}: array '{images.name}' is {images.dtype} of shape {shape}; expected uint8 "
                        f"[N, H, W, C] with C = 1 or 3")
    memory = machine_memory()
    if memory is not None and images.nbytes > memory // 2:
        raise DataError(f"{path}: array '{images.name}' declares {images.nbytes:,} bytes of images {shape}, more "
                        f"than half this machine's memory ({memory:,} bytes); score the samples in parts")
    labels = members.get(NPZ_LABELS) if not single else None
    if labels is not None and (labels.dtype.kind not in "iu" or labels.shape != shape[:1]):
        raise DataError(f"{path}: array '{NPZ_LABELS}' is {labels.dtype} of shape {labels.shape}; expected the "
                        f"{shape[0]} integer classes of the {shape[0]} images, shape ({shape[0]},)")
    return images, labels


def load_npz(path: Path) -> Samples:
    """The images of an ``.npz`` batch as ``[N, C, H, W]``, with its labels when it has ``arr_1``; headers are
    checked first (``genbench.storage.npz_files``), nothing is unpickled."""
    images, labels = check_npz(npz_members(path), path)
    array = read_array(images)
    if array.ndim == 3:
        array = array[..., None]
    return Samples(torch.from_numpy(np.ascontiguousarray(array)).permute(0, 3, 1, 2).contiguous(),
                   read_array(labels).astype(np.int64).tolist() if labels is not None else None)


def load_samples(path: Path) -> Samples:
    """A folder of images or an ``.npz`` file (``Samples``: images, labels, file names)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"samples {path} do not exist: give a folder of image files or an .npz batch")
    if path.suffix.lower() == ".npz" and path.is_file():
        return load_npz(path)
    return read_image_folder(path)


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
