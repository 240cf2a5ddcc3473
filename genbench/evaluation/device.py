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


def cpu_count() -> int:
    """CPUs this process may run on (its affinity), which is what competes for them."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def busy_machine_hint(threads: int | None = None) -> str | None:
    """A line for a run on torch's default thread count while other work holds every CPU (1-minute load at least
    the CPU count); None when a count was asked for or the machine is not that busy. A hint, not a silent change:
    the thread count is part of a result's environment and of a training's identity."""
    import torch

    if requested_threads(threads) is not None or torch.get_num_threads() < 2:
        return None
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows
        return None
    if load < cpu_count():
        return None
    return (f"the machine is busy (load {load:.1f} on {cpu_count()} CPUs) and torch runs {torch.get_num_threads()} "
            f"threads: --threads 1 (or {ENVIRONMENT_VARIABLE}=1) is often faster on a busy machine "
            f"(bench/README.md); the result records the thread count")


def use_threads(threads: int | None = None) -> int:
    """Apply the requested thread count to torch (intra-op) and return the count now in force."""
    import torch

    wanted = requested_threads(threads)
    if wanted is not None and wanted != torch.get_num_threads():
        torch.set_num_threads(wanted)
    return torch.get_num_threads()
