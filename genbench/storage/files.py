"""Atomic, hash-verified files: nothing genbench writes is ever seen half-written or trusted when corrupt.

Tensor files are safetensors written to a temp file and renamed; a small JSON beside each
records its SHA-256 and is written last, so a file without a matching record is not used.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from genbench.errors import GenbenchError, ResultsError, notice
from genbench.trust.hashing import sha256_file


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temp path beside ``path`` to write to; renamed over ``path`` only if the block succeeds.

    Readers see the old file or the whole new one, never half of it; the file gets the usual
    permissions (0666 less the umask), not ``mkstemp``'s private 0600.
    """
    path = Path(path)
    with out_of_space_is_one_line(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
    try:
        with out_of_space_is_one_line(path):
            yield Path(tmp)
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


#: Errors of the disk itself, not of the program: said in one line naming the file, which stays as it was.
DISK_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EIO})


@contextmanager
def out_of_space_is_one_line(path: Path) -> Iterator[None]:
    """A full, read-only or failing disk while writing ``path`` is a one-line ``ResultsError`` naming it."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in DISK_ERRORS:
            raise
        raise ResultsError(f"cannot write {path}: {exc.strerror or exc} (nothing half-written is kept; free space "
                           f"and run the same command again)") from None


@contextmanager
def atomic_directory(path: Path) -> Iterator[Path]:
    """A temp directory beside ``path`` to fill; renamed to ``path`` only if the block succeeds (``path``
    must not exist yet), so a directory of images is either complete or absent."""
    path = Path(path)
    with out_of_space_is_one_line(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        with out_of_space_is_one_line(path):
            yield tmp
            os.chmod(tmp, 0o777 & ~_umask())
            os.rename(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see ``atomic_path``), flushed to disk before the rename."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256.json")


def save_verified(path: Path, tensors: dict[str, torch.Tensor], info: dict[str, Any] | None = None) -> None:
    """Write tensors atomically, then the record with their file's SHA-256 (the commit marker)."""
    path = Path(path)
    data = save({k: v.detach().cpu().contiguous() for k, v in tensors.items()})
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)  # written by Python, so a full disk is an OSError said in one line
    record = {"sha256": sha256_file(path), "info": info or {}}
    atomic_write_text(_record_path(path), json.dumps(record, sort_keys=True))


def load_verified(path: Path) -> dict[str, torch.Tensor] | None:
    """Tensors from ``path`` if its record exists and its hash matches; None otherwise (rebuild it).

    A file that exists but cannot be trusted (truncated, garbage, a record of the wrong shape)
    is reported in one line (``genbench.errors``), so the user knows why work is redone.
    """
    path = Path(path)
    record_path = _record_path(path)
    if not path.exists() or not record_path.exists():
        return None
    problem = _verification_problem(path, record_path)
    if problem is None:
        try:
            return load_file(str(path))
        except (OSError, ValueError, SafetensorError) as exc:
            problem = f"unreadable ({type(exc).__name__})"
    notice(f"{path} is corrupt ({problem}); recomputing it")
    return None


#: The largest TOML file genbench reads (a protocol, a file of reported rows): a real one is a few kilobytes.
TOML_FILE_LIMIT = 2 ** 20


def _size(limit: int) -> str:
    return f"{limit // 2 ** 20} MiB" if limit % 2 ** 20 == 0 else f"{limit} bytes"


def _kind_of(info: os.stat_result) -> str | None:
    """Why a file of this kind cannot be read as a document (None for a regular file)."""
    if stat.S_ISREG(info.st_mode):
        return None
    return "is a directory, not a file" if stat.S_ISDIR(info.st_mode) else \
        "is not a regular file (a FIFO, device or socket)"


def check_regular_file(path: Path, what: str, error: type[GenbenchError]) -> None:
    """Refuse a ``path`` that exists but is not a regular file (a FIFO would block its reader, a device never
    end): one ``error`` line naming it. A path that does not exist is left to the caller."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise error(_open_problem(path, what, exc)) from None
    problem = _kind_of(info)
    if problem and not stat.S_ISDIR(info.st_mode):
        raise error(f"{what} {path} {problem}")


def _open_problem(path: Path, what: str, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return f"{what} {path} is a symbolic link that loops"
    if isinstance(exc, FileNotFoundError):
        return f"{what} {path} does not exist"
    return f"{what} {path} cannot be read: {exc.strerror or exc}"


def read_regular_file(path: Path, limit: int, what: str, error: type[GenbenchError]) -> bytes:
    """The bytes of ``path`` when it is a regular file of at most ``limit`` bytes; anything else (missing, a
    directory, a FIFO or device, a symlink loop, a larger file) is one ``error`` line naming it. Nothing blocks
    and nothing larger than ``limit`` is read, whoever made the file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        if isinstance(exc, IsADirectoryError):
            raise error(f"{what} {path} is a directory, not a file") from None
        raise error(_open_problem(path, what, exc)) from None
    problem = _kind_of(os.fstat(fd))
    if problem:
        os.close(fd)
        raise error(f"{what} {path} {problem}")
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise error(f"{what} {path} is larger than {_size(limit)}, the most a {what} may be")
    return data


class CorruptFile(Exception):
    """A file genbench wrote is not what it wrote: truncated, garbage, or valid JSON of the wrong shape."""


def read_json_object(path: Path, fields: dict[str, type | tuple[type, ...]]) -> dict[str, Any]:
    """The JSON object in ``path`` with ``fields`` of the given types; anything else is ``CorruptFile``.

    A missing file raises ``FileNotFoundError``: absent and corrupt call for different words.
    """
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        raise CorruptFile(f"not readable JSON: {type(exc).__name__}") from None
    if not isinstance(record, dict):
        raise CorruptFile(f"JSON {type(record).__name__}, not an object")
    for name, kind in fields.items():
        value = record.get(name)
        if not isinstance(value, kind) or isinstance(value, bool) and bool not in _kinds(kind):
            raise CorruptFile(f"field '{name}' is {type(value).__name__}, not {_kind_names(kind)}")
    return record


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_names(kind: type | tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in _kinds(kind))


def _verification_problem(path: Path, record_path: Path) -> str | None:
    """Why ``path`` does not match its record (None when it does)."""
    try:
        record = read_json_object(record_path, {"sha256": str})
        if record["sha256"] != sha256_file(path):
            return "its SHA-256 does not match its record"
    except CorruptFile as exc:
        return f"its record is {exc}"
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    return None


def remove_verified(path: Path) -> None:
    """Delete a verified file and its record, if present."""
    for p in (Path(path), _record_path(Path(path))):
        p.unlink(missing_ok=True)
