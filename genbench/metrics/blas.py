"""The BLAS thread count of genbench's metric linear algebra: one, on every machine and in every rank.

Threaded LAPACK and BLAS round differently with the number of threads, and ``torchrun`` starts its processes
with one, so one thread is what keeps a torchrun result equal to a single process's to the last bit. A fixed
count above one is no fix: where the cores are busy or fewer, OpenBLAS's threads spin (a 2048-d FID took 47 s
instead of 1 s pinned to one core; bench/README.md). Metrics that have independent pieces of work (KID's
subsets) spread those over threads instead, each on one BLAS thread.
"""

from __future__ import annotations

import functools
from contextlib import AbstractContextManager

from threadpoolctl import ThreadpoolController


@functools.cache
def blas_controller() -> ThreadpoolController:
    """threadpoolctl's handle on the loaded BLAS/OpenMP libraries, found once: finding them costs milliseconds
    a call, which 200 bootstrap rounds of FD would pay 200 times."""
    return ThreadpoolController()


def one_blas_thread() -> AbstractContextManager:
    """NumPy's and SciPy's BLAS (and OpenMP) on one thread inside the block."""
    return blas_controller().limit(limits=1)
