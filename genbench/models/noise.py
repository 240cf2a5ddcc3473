"""Per-image Gaussian noise drawn in parallel: row i from image i's own CPU generator, one batch on the device.

Every row is drawn by ``torch.randn`` with its own generator into its slice of one buffer (pinned
when the batch goes to a GPU). Rows are independent, so threads (torch releases the GIL) draw them
at once and the values are exactly those of a sequential loop: image i's noise still depends only
on its seed. The pool has ``torch.get_num_threads()`` threads (one under ``OMP_NUM_THREADS=1``).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import torch

#: Thread pools by (process id, size): a forked child never reuses its parent's pool, whose threads it lacks.
_pools: dict[tuple[int, int], ThreadPoolExecutor] = {}


def per_image_normal(generators: Sequence[torch.Generator], shape: tuple[int, ...], device: torch.device,
                     workers: int | None = None) -> torch.Tensor:
    """Standard normal ``[len(generators), *shape]`` on ``device``; row i drawn from ``generators[i]``."""
    workers = workers or torch.get_num_threads()
    rows = torch.empty((len(generators), *shape), pin_memory=device.type == "cuda" and torch.cuda.is_available())

    def draw(i: int) -> None:
        torch.randn(shape, generator=generators[i], out=rows[i])

    if workers > 1 and len(generators) > 1:
        key = (os.getpid(), workers)
        if key not in _pools:
            _pools[key] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="genbench-noise")
        pool = _pools[key]
        list(pool.map(draw, range(len(generators))))
    else:
        for i in range(len(generators)):
            draw(i)
    return rows.to(device, non_blocking=True)
