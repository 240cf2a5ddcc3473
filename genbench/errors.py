"""Exception families and one-line notices: what a user reads when something is wrong or unexpected.

Each exception carries one line a user can act on; the CLI prints it and exits non-zero. A notice
(on stderr, shown even with ``--quiet``) says why something unexpected happened: a corrupt shard
recomputed, an unreadable result left off a leaderboard. Progress lines go to stdout and obey ``--quiet``.
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys
import warnings
from typing import Any, Callable, Iterable

from tqdm.auto import tqdm


class GenbenchError(Exception):
    """Base of every error genbench reports to a user as one line."""


class PluginError(GenbenchError):
    """A plugin is missing, clashes with another, failed to import, or broke its contract."""


class ProtocolError(GenbenchError):
    """A protocol file is malformed, unknown, or does not fit the model or data."""


class DataError(GenbenchError):
    """A data set is missing offline, malformed, or too small for what is asked of it."""


class WeightsError(GenbenchError):
    """A weights file is missing, unknown, or does not match its expected hash or model."""


class MetricError(GenbenchError):
    """A metric cannot be computed from what it was given (too few samples, NaN features)."""


class ResultsError(GenbenchError):
    """A results directory or result file cannot be written or read."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or, as ``terminated``, SIGTERM) with what the interrupted step leaves behind and how to go on."""

    def __init__(self, note: str | None = None, terminated: bool = False):
        super().__init__(note)
        self.note, self.terminated = note, terminated


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is so that the same clean-up as Ctrl-C runs (exit status 143)."""


def debugging() -> bool:
    """``GENBENCH_DEBUG`` set to a true value (1, true, yes, on): tracebacks and library output shown as they come."""
    return os.environ.get("GENBENCH_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``did you mean 'x'?`` for the closest known name (difflib), else the list of known names."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known) or 'none'}"


def status_line(quiet: bool) -> Callable[[str], None]:
    """``log(message)``: a ``genbench: message`` status line on stderr (stdout keeps the result table clean for
    ``> table.txt`` and ``--json``), or nothing under ``--quiet``."""
    if quiet:
        return lambda message: None
    return lambda message: tqdm.write(f"genbench: {message}", file=sys.stderr)


def notice(message: str) -> None:
    """Print ``genbench: message`` on stderr without breaking a progress bar."""
    tqdm.write(f"genbench: {message}", file=sys.stderr)


def moved_module(old: str, new: str) -> Callable[[str], Any]:
    """The ``__getattr__`` of a module left at an old import path: every name comes from ``new``, with one
    ``FutureWarning`` per old module (as timm keeps its old paths), so plugins written against it keep working."""
    warned = []

    def __getattr__(name: str) -> Any:
        try:
            value = getattr(importlib.import_module(new), name)
        except AttributeError:
            raise AttributeError(f"module '{old}' (now {new}) has no attribute '{name}'") from None
        if not warned:
            warned.append(name)
            warnings.warn(f"{old} has moved to {new}; import from there (the old path will be removed in a "
                          f"future release)", FutureWarning, stacklevel=2)
        return value

    return __getattr__
