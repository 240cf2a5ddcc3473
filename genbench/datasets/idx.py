"""IDX files (the MNIST format) of unsigned bytes, read whole, uncompressed or gzipped as distributed.

The header is two zero bytes, the type code 0x08 (unsigned byte), the number of dimensions, then
each dimension as a big-endian 32-bit integer; the values follow. A gzipped file is decompressed in
memory, never unpacked beside itself. A file that is not IDX, a damaged gzip stream, and a file whose
length does not match its header (truncated, or with bytes after the values) are one-line errors
naming the file and, for a size mismatch, both sizes.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from genbench.errors import DataError
from genbench.storage.downloads import failure_reason

UNSIGNED_BYTE = 0x08
_CHUNK = 1 << 20


def idx_path(folder: Path, name: str) -> Path | None:
    """``folder/name``, else ``folder/name.gz`` (the file as distributed), else None."""
    for path in (folder / name, folder / f"{name}.gz"):
        if path.is_file():
            return path
    return None


def read_idx(path: Path, dimensions: int, source: str) -> np.ndarray:
    """The values of an IDX file of unsigned bytes with ``dimensions`` dimensions, as a writable uint8 array."""
    gzipped = path.suffix == ".gz"
    try:
        with (gzip.open(path, "rb") if gzipped else open(path, "rb")) as stream:
            return _read(stream, path, dimensions, source)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: not a complete gzip file ({failure_reason(exc)}); fetch it again from "
                        f"{source}") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({failure_reason(exc)})") from None


def _read(stream: BinaryIO, path: Path, dimensions: int, source: str) -> np.ndarray:
    magic, expected = stream.read(4), bytes([0, 0, UNSIGNED_BYTE, dimensions])
    if magic != expected:
        raise DataError(f"{path}: not an IDX file of unsigned bytes with {dimensions} dimensions (it starts with "
                        f"{magic.hex() or 'nothing'}, expected {expected.hex()})")
    header = stream.read(4 * dimensions)
    if len(header) < 4 * dimensions:
        raise DataError(f"{path}: truncated or damaged IDX file: its header ends after {4 + len(header)} of "
                        f"{4 + 4 * dimensions} bytes (fetch it again from {source})")
    shape = struct.unpack(f">{dimensions}I", header)
    size = math.prod(shape)
    data = _read_up_to(stream, size)
    held = len(data) + (_remaining(stream) if len(data) == size else 0)
    if held != size:
        raise DataError(f"{path}: truncated or damaged IDX file: its header declares "
                        f"{' x '.join(map(str, shape))} values ({size} bytes after the header), the file holds "
                        f"{held} (fetch it again from {source})")
    return np.frombuffer(data, dtype=np.uint8).reshape(shape).copy()


def _read_up_to(stream: BinaryIO, size: int) -> bytes:
    """At most ``size`` bytes, read a chunk at a time: memory follows what the file holds, not what it declares."""
    parts, total = [], 0
    while total < size and (chunk := stream.read(min(_CHUNK, size - total))):
        parts.append(chunk)
        total += len(chunk)
    return b"".join(parts)


def _remaining(stream: BinaryIO) -> int:
    """How many bytes are left in ``stream``, counted a chunk at a time (never all in memory)."""
    count = 0
    while chunk := stream.read(_CHUNK):
        count += len(chunk)
    return count
