"""What every phase of a run reads: its options, the plugins, the process group, and whether to talk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from genbench.errors import status_line
from genbench.registry import Registry
from genbench.runner.distributed import ProcessGroup
from genbench.runner.options import RunOptions


@dataclass
class RunContext:
    """What every phase of a run reads: its options, the plugins, the process group, and whether to talk."""

    options: RunOptions
    registry: Registry
    group: ProcessGroup
    progress: bool
    #: What an interruption of the current step leaves behind, in words (None: nothing worth saying).
    interrupted_while: Callable[[], str] | None = None

    def log(self, message: str) -> None:
        """A status line (``--quiet`` and ranks other than the main one say nothing)."""
        status_line(not self.progress)(message)
