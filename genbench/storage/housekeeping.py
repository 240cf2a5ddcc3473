"""Nothing left behind: runs clean up after dead runs in their results directory, and after themselves.

A run killed at any instant leaves only two kinds of debris, both named by genbench itself:
temp files of atomic writes (``.<name>.<8 chars>.tmp``, see ``storage.atomic_path``) and the
artefacts of a result that was never written (``<run id>.grid.png``, ``.samples/``,
``.gallery-NN.png`` without ``<run id>.json``). A run that finds itself alone in the results
directory (``genbench.storage.locks``) removes them, at its start and at its end. Shards under
``.work/`` are not debris: they are what an interrupted run resumes from, and go once its
result is written (by the last run using them, if identical runs share them).
"""

from __future__ import annotations

import re
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from genbench.errors import notice
from genbench.storage.locks import exclusive_if_alone, shared

LOCK_FILE = ".genbench.lock"
WORK_DIR = ".work"
#: ``tempfile.mkstemp`` / ``mkdtemp`` names made by ``storage.atomic_path`` and ``storage.atomic_directory``.
TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
#: Artefacts written beside ``<run id>.json`` just before it (run ids: ``results.new_run_id``).
RUN_ARTEFACT = re.compile(r"^(?P<run_id>.+__.+__\d{8}T\d{6}__[0-9a-f]{8})\.(grid\.png|samples|gallery-\d+\.png)$")


def leftovers(results_dir: Path) -> list[Path]:
    """Temp files of genbench's atomic writes, artefacts of results never written, and work-directory and
    training lock files in ``results_dir``: debris once no live run uses the directory."""
    results_dir = Path(results_dir)
    work = results_dir / WORK_DIR
    folders = [results_dir, results_dir / "checkpoints", work, *(p for p in _listing(work) if p.is_dir())]
    found = [p for folder in folders for p in _listing(folder) if TEMP_NAME.match(p.name)]
    found += [p for p in _listing(work) if p.suffix == ".lock" and p.is_file()]  # no live run holds them
    found += [p for p in _listing(results_dir / "checkpoints")  # trained.training_lock's, likewise unheld
              if p.name.startswith(".") and p.suffix == ".lock" and p.is_file()]
    for path in _listing(results_dir):
        match = RUN_ARTEFACT.match(path.name)
        if match and not (results_dir / f"{match['run_id']}.json").exists():
            found.append(path)
    return sorted(found)


def _listing(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.is_dir() else []


def remove_leftovers(results_dir: Path) -> list[Path]:
    """Delete ``leftovers`` and an empty ``.work``; only call this alone in the directory (see ``in_use``)."""
    removed = leftovers(results_dir)
    for path in removed:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    debris = [p for p in removed if p.suffix != ".lock"]  # an unheld lock file is no sign of an interruption
    if debris:
        notice(f"removed {len(debris)} leftover(s) of interrupted runs in {results_dir}: "
               f"{', '.join(p.name for p in debris[:5])}{', ...' if len(debris) > 5 else ''}")
    try:
        (Path(results_dir) / WORK_DIR).rmdir()
    except OSError:
        pass  # absent, or holds shards another run resumes from
    return removed


@contextmanager
def in_use(results_dir: Path) -> Iterator[None]:
    """Mark ``results_dir`` as used by this run for the block; alone at either end, clean it."""
    lock = Path(results_dir) / LOCK_FILE
    with exclusive_if_alone(lock) as alone:
        if alone:
            remove_leftovers(results_dir)
    try:
        with shared(lock):
            yield
    finally:
        with exclusive_if_alone(lock) as alone:
            if alone:
                remove_leftovers(results_dir)


class WorkDirectory:
    """A run's shard directory, held shared while the run uses it; ``finish`` removes it unless an
    identical run started at the same time still reads it (that run removes it when it finishes)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.lock = self.path.with_name(f"{self.path.name}.lock")
        self._held = None

    def __enter__(self) -> "WorkDirectory":
        self._held = shared(self.lock)
        self._held.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._release(remove_shards=False)

    def finish(self) -> None:
        """The result is written: drop the shards if no other run uses them."""
        self._release(remove_shards=True)

    def _release(self, remove_shards: bool) -> None:
        """Stop using the directory; alone, remove the lock file (and with ``remove_shards``, the shards:
        otherwise they stay for a resume)."""
        if self._held is None:
            return
        held, self._held = self._held, None
        held.__exit__(None, None, None)
        with exclusive_if_alone(self.lock) as alone:
            if alone and remove_shards:
                shutil.rmtree(self.path, ignore_errors=True)
