"""The determinism probe: a plugin's image i must depend on its seed and condition alone.

A plugin that draws noise from torch's global generator (instead of ``batch.randn`` or
``batch.generators()``), or whose output depends on the other images of its batch, gives a
different number for the same command. Before sampling, the runner asks for images 0 and 1 in
one small batch, each twice (``[0, 1, 0, 1]``), then once more in another composition
(``[1, 0]``); after sampling, the probe's images are also compared with the run's own images 0
and 1 (sampled in a full batch). Images agree when their mean absolute difference is at most
``TOLERANCE`` uint8 levels: exact on a CPU, and room for the last-bit differences a GPU's
batch-size-dependent kernels may leave, far below what a different noise draw gives.
"""

from __future__ import annotations

from typing import Callable

import torch

#: Largest mean absolute difference (uint8 levels) between two images that count as the same.
TOLERANCE = 1.0
#: Image indices of the probe's two batches: each image twice in one batch, then a reordered, smaller batch.
FIRST_BATCH = (0, 1, 0, 1)
SECOND_BATCH = (1, 0)

HOW_TO_FIX = ("draw all noise with batch.randn(...) or batch.generators() (one generator per image's seed), "
              "never torch's global generator, and keep each image independent of its batch")


def mean_abs_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.to(torch.int16) - b.to(torch.int16)).abs().float().mean())


class ProbeImages:
    """The probe's images by image index, and what differed."""

    def __init__(self, sample: Callable[[list[int]], torch.Tensor], num_samples: int):
        self.indices = [i % num_samples for i in (0, 1)]
        first = sample([self.indices[i] for i in FIRST_BATCH]).cpu()
        second = sample([self.indices[i] for i in SECOND_BATCH]).cpu()
        self.images = {0: first[0], 1: first[1]}
        self.problems: list[str] = []
        for row, again in ((0, 2), (1, 3)):
            gap = mean_abs_difference(first[row], first[again])
            if gap > TOLERANCE:
                self.problems.append(f"image {self.indices[row]} sampled twice in one batch differs "
                                     f"(mean |difference| {gap:.1f} levels)")
        for row, slot in ((0, 1), (1, 0)):
            gap = mean_abs_difference(second[row], self.images[slot])
            if gap > TOLERANCE:
                self.problems.append(f"image {self.indices[slot]} changes with its batch's composition "
                                     f"(mean |difference| {gap:.1f} levels)")

    def compare_with_run(self, run_images: torch.Tensor) -> None:
        """Compare with the run's own first images (``run_images[k]`` is image k), sampled in full batches."""
        for slot, index in enumerate(self.indices):
            if index < len(run_images):
                gap = mean_abs_difference(run_images[index], self.images[slot])
                if gap > TOLERANCE:
                    self.problems.append(f"image {index} differs between the probe and the run's own batch "
                                         f"(mean |difference| {gap:.1f} levels)")

    @property
    def deterministic(self) -> bool:
        return not self.problems

    def summary(self) -> dict:
        return {"deterministic": self.deterministic, "problems": list(self.problems), "tolerance_levels": TOLERANCE,
                "probe_batches": [list(FIRST_BATCH), list(SECOND_BATCH)]}
