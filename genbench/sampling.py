"""The sampling plan: which seed and condition each generated image gets, and how images are sharded.

Image i of a run always gets seed ``sample_seed(run_seed, i)`` and condition ``i mod K``, so
its noise is the same whatever the batch size, the shard count or the number of processes.
"""

from __future__ import annotations

from dataclasses import dataclass

from genbench.datasets.base import ImageDataset
from genbench.errors import DataError
from genbench.protocol import Protocol

_SEED_STRIDE = 2 ** 32


def sample_seed(run_seed: int, index: int) -> int:
    """The seed of image ``index`` in a run seeded with ``run_seed``."""
    return (run_seed * _SEED_STRIDE + index) % (2 ** 63)


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


@dataclass
class Conditions:
    """Per-image conditions of a run: class labels, captions, or neither."""

    labels: list[int] | None = None
    captions: list[str] | None = None

    def slice(self, start: int, stop: int) -> "Conditions":
        return Conditions(
            labels=self.labels[start:stop] if self.labels is not None else None,
            captions=self.captions[start:stop] if self.captions is not None else None,
        )


def caption_groups(captions: list[str]) -> list[int]:
    """Per caption, the index of its first occurrence: images with equal captions share a group."""
    first: dict[str, int] = {}
    return [first.setdefault(caption, i) for i, caption in enumerate(captions)]


def plan_conditions(protocol: Protocol, reference: ImageDataset) -> Conditions:
    """Balanced class labels (i mod K), or the reference captions in order, each ``samples_per_caption``
    times in a row: image i gets caption ``(i // k) mod len``."""
    n = protocol.sampling.num_samples
    k = protocol.sampling.samples_per_caption
    kind = protocol.sampling.conditions
    if kind == "classes":
        if not reference.num_classes:
            raise DataError(f"protocol '{protocol.name}' asks for class conditions but its data set has no classes")
        return Conditions(labels=[i % reference.num_classes for i in range(n)])
    if kind == "captions":
        if not reference.captions:
            raise DataError(f"protocol '{protocol.name}' asks for caption conditions but its data set has no captions")
        return Conditions(captions=[reference.captions[(i // k) % len(reference.captions)] for i in range(n)])
    return Conditions()
