"""Atomic, hash-verified files: nothing genbench writes is ever seen half-written or trusted when corrupt.

Tensor files are safetensors written to a temp file and renamed; a small JSON beside each
records its SHA-256 and is written last, so a file without a matching record is not used.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from genbench.errors import notice
from genbench.trust.hashing import sha256_file


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temp path beside ``path`` to write to; renamed over ``path`` only if the block succeeds.

    Readers see the old file or the whole new one, never half of it; the file gets the usual
    permissions (0666 less the umask), not ``mkstemp``'s private 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def atomic_directory(path: Path) -> Iterator[Path]:
    """A temp directory beside ``path`` to fill; renamed to ``path`` only if the block succeeds (``path``
    must not exist yet), so a directory of images is either complete or absent."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
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
    with atomic_path(path) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp))
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
