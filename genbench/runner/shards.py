"""Shards of a run: consecutive images sampled and saved together; which rank samples which, and how finished shards reach the main rank, in shard order.

A shard some rank already finished (in its own work directory, from an interrupted attempt) is
provided by that rank; the others are dealt round-robin. Ranks may come back from a restart with
other numbers, on other machines: the plan is made from what every rank actually has.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from genbench.runner.distributed import ProcessGroup


@dataclass(frozen=True)
class Shard:
    index: int
    start: int
    stop: int

    def __len__(self) -> int:
        return self.stop - self.start


def plan_shards(num_samples: int, shard_size: int) -> list[Shard]:
    """Consecutive shards of ``shard_size`` images (the last may be shorter)."""
    return [Shard(i, start, min(start + shard_size, num_samples))
            for i, start in enumerate(range(0, num_samples, shard_size))]


def assign_shards(finished: list[list[bool]]) -> list[int]:
    """Per shard, the rank that provides it: the first rank that finished it, else round-robin over the rest.

    ``finished[r][i]`` says whether rank r holds shard i.
    """
    world = len(finished)
    owners, dealt = [], 0
    for index in range(len(finished[0])):
        holders = [rank for rank in range(world) if finished[rank][index]]
        if holders:
            owners.append(holders[0])
        else:
            owners.append(dealt % world)
            dealt += 1
    return owners


def gather_shards(group: ProcessGroup, shards: list[Shard], owners: list[int],
                  local: dict[int, dict[str, torch.Tensor]]) -> dict[int, dict[str, torch.Tensor]] | None:
    """On the main rank, every shard's tensors (received in shard order); other ranks send theirs and get None."""
    if group.is_main:
        return {shard.index: local[shard.index] if owners[shard.index] == group.rank
                else group.receive_tensors(owners[shard.index], f"receiving shard {shard.index}'s features")
                for shard in shards}
    for shard in shards:
        if owners[shard.index] == group.rank:
            group.send_tensors(local[shard.index], 0, f"sending shard {shard.index}'s features to rank 0")
    return None
