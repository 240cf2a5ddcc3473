"""Library chatter held back until a step succeeds: a failing load prints genbench's one line, nothing else.

diffusers, transformers and friends print warnings, log records and progress bars while they
load weights; when the load then fails, those lines bury the one line that says what to do.
``library_output_held`` keeps them while the step runs, prints them if it succeeds and drops
them if it fails; ``GENBENCH_DEBUG=1`` shows everything live, as it happens.
"""

from __future__ import annotations

import io
import logging
import sys
from contextlib import contextmanager, redirect_stderr
from typing import Iterator

from genbench.errors import debugging


def _stderr_handlers() -> list[logging.StreamHandler]:
    """Every logging handler that writes to the real stderr (libraries often bind theirs at import)."""
    loggers = [logging.getLogger(), *(v for v in logging.Logger.manager.loggerDict.values()
                                      if isinstance(v, logging.Logger))]
    return [h for logger in loggers for h in logger.handlers
            if isinstance(h, logging.StreamHandler) and getattr(h, "stream", None) is sys.stderr]


@contextmanager
def library_output_held(enabled: bool = True) -> Iterator[None]:
    """Hold what is printed to stderr during the block (warnings, log records, progress bars): shown
    after the block succeeds, dropped when it raises. Off when ``enabled`` is False (a download may
    need its progress bar live) or ``GENBENCH_DEBUG`` is set."""
    if not enabled or debugging():
        yield
        return
    real, held = sys.stderr, io.StringIO()
    handlers = _stderr_handlers()
    for handler in handlers:
        handler.setStream(held)
    try:
        with redirect_stderr(held):
            yield
    finally:
        for handler in handlers:
            handler.setStream(real)
    real.write(held.getvalue())  # reached only when the block succeeded
