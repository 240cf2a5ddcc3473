"""Advisory file locks that tell a run whether other runs use the same directory, and survive kill -9.

A run holds a lock file *shared* while it works; a run that can take it *exclusively* without
waiting knows no other live run is there, so whatever half-finished files it finds belong to
dead runs. The kernel drops a dead process's locks, so a crash never leaves a directory locked.
A lock file is deleted by its last holder; a waiter that wakes up on a deleted file tries again.
Where ``fcntl`` is missing (Windows), no run ever counts as alone, so nothing is ever cleaned.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import ContextManager, Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


def _acquire(path: Path, mode: int, wait: bool) -> int | None:
    """A descriptor of ``path`` locked with ``mode``; None when ``wait`` is False and someone else holds it."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, mode if wait else mode | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # the last holder deleted the file while we waited: lock the new one


@contextmanager
def _held(path: Path, mode: str) -> Iterator[None]:
    """Hold ``path`` in ``mode`` (``shared`` or ``exclusive``) for the block, waiting while others hold it in a
    mode that excludes it; the lock file stays."""
    if fcntl is None:
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = _acquire(Path(path), fcntl.LOCK_SH if mode == "shared" else fcntl.LOCK_EX, wait=True)
    try:
        yield
    finally:
        os.close(fd)


def shared(path: Path) -> ContextManager[None]:
    """Hold ``path`` shared for the block (waiting while a run holds it exclusively, which is brief)."""
    return _held(path, "shared")


def exclusive(path: Path) -> ContextManager[None]:
    """Hold ``path`` exclusively for the block, waiting while others hold it (one training of an identity at
    a time); the lock file stays for the next holder."""
    return _held(path, "exclusive")


@contextmanager
def exclusive_if_alone(path: Path) -> Iterator[bool]:
    """Yield True holding ``path`` exclusively when no other process holds it (the lock file is deleted at
    the end), or False at once when one does."""
    if fcntl is None:
        yield False
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = _acquire(Path(path), fcntl.LOCK_EX, wait=False)
    if fd is None:
        yield False
        return
    try:
        yield True
    finally:
        Path(path).unlink(missing_ok=True)
        os.close(fd)
