"""Where an evaluation computes: the device (the one asked for, else this rank's GPU under ``torchrun``, else
any GPU, else the CPU; a device that does not exist here is one line) and torch's CPU thread count.

torch starts one thread per core; on a machine whose cores are busy with other work those threads wait
on each other (a ``ddim`` training on ``digits`` took 917 s instead of about 20 s), so ``--threads N``
or ``GENBENCH_THREADS`` sets the count, which every result records (``environment.threads``).
"""

from __future__ import annotations

import os

import torch

from genbench.errors import GenbenchError


def launched_world_size() -> int:
    """``WORLD_SIZE`` as set by ``torchrun`` (1 when not launched by it)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def local_device() -> torch.device | None:
    """``cuda:LOCAL_RANK`` for a rank launched by ``torchrun`` on a GPU machine, else None."""
    if launched_world_size() > 1 and torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return None


def resolve_device(name: str | None) -> torch.device:
    """``cuda`` when present and nothing was asked for; an unavailable device is an error."""
    if name is None:
        return local_device() or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise GenbenchError(f"unknown device '{name}' (use cpu, cuda or cuda:N)") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise GenbenchError(f"device '{name}' asked for, but CUDA is not available on this machine")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise GenbenchError(f"device '{name}' asked for, but only {torch.cuda.device_count()} CUDA devices exist")
    return device


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
