"""``.npz`` archives read without trusting them: nothing is unpickled, every array's declared type and shape is
read from its ``.npy`` header and checked before any of its data, and a large array stored uncompressed (as
``np.savez`` writes ADM's reference batches) is read a slice of rows at a time, never whole.

An ``.npz`` is a zip of ``NAME.npy`` members; each member starts with numpy's header (format version, dtype,
Fortran order, shape). ``npz_members`` reads only those headers and the zip directory, and refuses a member that
holds Python objects (a pickle), does not match its declared size, or is not an ``.npy`` file.
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genbench.errors import DataError

#: Bytes of a zip local file header before its file name and extra field (APPNOTE 4.3.7).
LOCAL_HEADER = 30


@dataclass(frozen=True)
class NpzMember:
    """One array of an archive, known from its header only: where its data starts when stored uncompressed."""

    path: Path
    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    fortran_order: bool
    #: Offset of the array's first data byte in the archive file; None when the member is compressed.
    data_offset: int | None

    @property
    def nbytes(self) -> int:
        """Bytes of data the header declares."""
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


def _header(stream, where: str) -> tuple[np.dtype, tuple[int, ...], bool, int]:
    """(dtype, shape, Fortran order, header length) of an ``.npy`` stream, read without its data."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unknown .npy format version {version}")
    except ValueError as exc:
        raise DataError(f"{where} is not an .npy array ({exc})") from None
    return dtype, tuple(int(n) for n in shape), bool(fortran), stream.tell()


def _data_offset(handle, info: zipfile.ZipInfo, header_length: int) -> int | None:
    """Where the member's array data starts in the file, for a member stored uncompressed."""
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    handle.seek(info.header_offset + 26)
    name_length, extra_length = struct.unpack("<HH", handle.read(4))
    return info.header_offset + LOCAL_HEADER + name_length + extra_length + header_length


#: The first bytes of an ``.npy`` file (``np.save``), which is sometimes renamed ``.npz``.
NPY_MAGIC = b"\x93NUMPY"


def npz_members(path: Path) -> dict[str, NpzMember]:
    """The arrays of ``path`` by name, from their headers; a member that is not a plain ``.npy`` array is refused,
    and so, in words that say what they are, are an empty file and a lone ``.npy`` array named ``.npz``."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            start = handle.read(len(NPY_MAGIC))
            if not start:
                raise DataError(f"{path} is empty (0 bytes): a failed or unfinished write?")
            if start == NPY_MAGIC:
                raise DataError(f"{path} is a single .npy array (np.save), not an .npz archive (np.savez): save "
                                f"it with np.savez('{path.name}', arr_0=array)")
            handle.seek(0)
            return _members(path, handle)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"{path} is not a readable .npz archive ({exc}): a truncated or altered file?") from None


def _members(path: Path, handle) -> dict[str, NpzMember]:
    members = {}
    with zipfile.ZipFile(handle) as archive:
        for info in archive.infolist():
            where = f"{path}: member '{info.filename}'"
            if not info.filename.endswith(".npy") or "/" in info.filename:
                raise DataError(f"{where} is not an .npy array (an .npz holds only NAME.npy members)")
            with archive.open(info) as stream:
                dtype, shape, fortran, header_length = _header(stream, where)
            name = info.filename[:-len(".npy")]
            if dtype.hasobject:
                raise DataError(f"{where} holds Python objects, which only unpickling could read; genbench "
                                f"never unpickles an .npz (save numbers, not objects)")
            member = NpzMember(path, name, dtype, shape, fortran, _data_offset(handle, info, header_length))
            if info.file_size != header_length + member.nbytes:
                raise DataError(f"{where} declares {member.nbytes} bytes of {dtype} {list(shape)} but holds "
                                f"{info.file_size - header_length} (a truncated or altered file)")
            members[name] = member
    return members


def read_array(member: NpzMember) -> np.ndarray:
    """The whole array, after its header was checked (``npz_members``)."""
    try:
        with zipfile.ZipFile(member.path) as archive, archive.open(f"{member.name}.npy") as stream:
            _header(stream, str(member.path))
            data = stream.read(member.nbytes)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"{member.path}: array '{member.name}' cannot be read ({exc})") from None
    if len(data) != member.nbytes:
        raise DataError(f"{member.path}: array '{member.name}' ends after {len(data)} of {member.nbytes} bytes")
    array = np.frombuffer(data, dtype=member.dtype)
    if member.fortran_order:
        return array.reshape(member.shape[::-1]).transpose()
    return array.reshape(member.shape)


def read_rows(member: NpzMember, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of an array stored uncompressed in C order, read from the file without the rest."""
    if member.data_offset is None or member.fortran_order:
        raise DataError(f"{member.path}: array '{member.name}' is compressed or in Fortran order, so it cannot be "
                        f"read a slice at a time; save it with np.savez (uncompressed, C order)")
    row = int(np.prod(member.shape[1:], dtype=np.int64)) * member.dtype.itemsize
    start, stop = max(0, start), min(member.shape[0], stop)
    count = max(0, stop - start)
    with open(member.path, "rb") as handle:
        handle.seek(member.data_offset + start * row)
        data = handle.read(count * row)
    if len(data) != count * row:
        raise DataError(f"{member.path}: array '{member.name}' ends before row {stop} (a truncated file)")
    return np.frombuffer(data, dtype=member.dtype).reshape((count, *member.shape[1:]))
