"""torch-fidelity's KID with its subsets spread over threads, equal to ``kid_features_to_metric`` bit for bit.

KID averages the unbiased MMD² of ``subsets`` random subset pairs; each pair costs three kernel matrices
(``subset_size``² dot products of the features). torch-fidelity runs the subsets one after another, each
on the BLAS's own threads, whose count may change the rounding. Here the subsets are drawn exactly as
torch-fidelity draws them (one ``RandomState(rng_seed)``, generated rows then reference rows, subset after
subset), and each pair's MMD² comes from torch-fidelity's ``kernel_mmd`` on one BLAS thread, several pairs at
a time: the numbers are the library's whatever the number of threads, and a many-core machine uses its
cores (NumPy releases the GIL in the matrix products).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from genbench.metrics.blas import one_blas_thread


def subset_draws(num_generated: int, num_reference: int, subsets: int, subset_size: int,
                 rng_seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The row indices of every subset pair, in torch-fidelity's order of draws."""
    rng = np.random.RandomState(rng_seed)
    return [(rng.choice(num_generated, subset_size, replace=False), rng.choice(num_reference, subset_size, replace=False))
            for _ in range(subsets)]


def kid_mean_std(generated: torch.Tensor, reference: torch.Tensor, subsets: int, subset_size: int, degree: int,
                 coef0: float, rng_seed: int, workers: int) -> tuple[float, float]:
    """KID's mean and std over the subsets with the cubic (``degree``) polynomial kernel, γ = 1/dimension."""
    from torch_fidelity.metric_kid import kernel_mmd

    x, y = generated.cpu().numpy(), reference.cpu().numpy()
    kernel = {"kid_kernel": "poly", "kid_kernel_poly_degree": degree, "kid_kernel_poly_gamma": None,
              "kid_kernel_poly_coef0": coef0}

    def mmd(draw: tuple[np.ndarray, np.ndarray]) -> float:
        return kernel_mmd(x[draw[0]], y[draw[1]], **kernel)

    draws = subset_draws(len(x), len(y), subsets, subset_size, rng_seed)
    with one_blas_thread(), ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        mmds = np.array(list(pool.map(mmd, draws)), dtype=np.float64)
    return float(np.mean(mmds)), float(np.std(mmds))
