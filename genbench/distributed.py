"""Running one evaluation over several processes with torch.distributed (``torchrun``).

Rank r samples and extracts features for shards r, r + W, r + 2W, ... and saves them in the
run's work directory, as a single process does; after a barrier the main rank reads every
shard and computes the metrics. Features are per image and per fixed chunk, so the merged
result equals the single-process one. The results directory must be shared by all ranks
(one machine, or a shared file system).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class ProcessGroup:
    """This process's place in the run: its rank and the number of processes."""

    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def owns(self, shard_index: int) -> bool:
        """Whether this rank samples the shard (round-robin over ranks)."""
        return shard_index % self.world_size == self.rank

    def barrier(self) -> None:
        """Wait for every rank (a no-op in a single process)."""
        if self.world_size > 1:
            dist.barrier()


def launched_world_size() -> int:
    """``WORLD_SIZE`` as set by ``torchrun`` (1 when not launched by it)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def local_device() -> torch.device | None:
    """``cuda:LOCAL_RANK`` for a rank launched by ``torchrun`` on a GPU machine, else None."""
    if launched_world_size() > 1 and torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return None


def process_group(device: torch.device) -> ProcessGroup:
    """The current process group, joining it (NCCL on GPUs, gloo on CPUs) when ``torchrun`` launched us."""
    if dist.is_available() and not dist.is_initialized() and launched_world_size() > 1:
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if dist.is_available() and dist.is_initialized():
        return ProcessGroup(dist.get_rank(), dist.get_world_size())
    return ProcessGroup()
