"""How many CPU threads torch uses: ``--threads N`` or ``GENBENCH_THREADS``, else torch's own default.

torch starts one thread per core; on a machine whose cores are busy with other work those
threads wait on each other (a ``ddim`` training on ``digits`` took 917 s instead of about 20 s).
The count in force is recorded in every result (``environment.threads``).
"""

from __future__ import annotations

import os

from genbench.errors import GenbenchError

ENVIRONMENT_VARIABLE = "GENBENCH_THREADS"


def requested_threads(threads: int | None = None) -> int | None:
    """``threads`` if given, else ``$GENBENCH_THREADS``, else None (leave torch's default); bad values are errors."""
    source = "--threads"
    if threads is None:
        text = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
        if not text:
            return None
        source = ENVIRONMENT_VARIABLE
        try:
            threads = int(text)
        except ValueError:
            raise GenbenchError(f"{ENVIRONMENT_VARIABLE} must be a positive integer, got '{text}'") from None
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise GenbenchError(f"{source} must be a positive integer, got {threads!r}")
    return threads


def use_threads(threads: int | None = None) -> int:
    """Apply the requested thread count to torch (intra-op) and return the count now in force."""
    import torch

    wanted = requested_threads(threads)
    if wanted is not None and wanted != torch.get_num_threads():
        torch.set_num_threads(wanted)
    return torch.get_num_threads()
