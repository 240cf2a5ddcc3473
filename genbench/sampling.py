"""The sampling plan: which seed and condition each generated image gets, and how images are sharded.

Image i of a run always gets seed ``sample_seed(run_seed, i)`` and condition ``i mod K``, so
its noise is the same whatever the batch size, the shard count or the number of processes.

torch's CPU generator (mt19937) keeps only the low 32 bits of a seed, so a per-image seed must
live in that range and every bit of the run seed must reach it: image i gets
``(h(run_seed) + i) mod 2**32`` with ``h`` a SHA-256 of the run seed. Images of one run never
share a seed (consecutive offsets), and two run seeds share images only when their offsets lie
within N of each other (probability about 2N / 2**32: 2.3e-5 for 50 000 images).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from genbench.datasets.base import ImageDataset
from genbench.errors import DataError, GenbenchError
from genbench.protocol import Protocol

#: Run seeds genbench accepts: 0 <= seed < 2**63 (any int64 a user may type that is not negative).
RUN_SEED_LIMIT = 2 ** 63
#: The seeds torch's CPU generator tells apart (mt19937 keeps the low 32 bits).
GENERATOR_SEEDS = 2 ** 32


def check_run_seed(seed: object) -> int:
    """``seed`` when it is an integer in ``0 .. 2**63 - 1``; anything else is a one-line error."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < RUN_SEED_LIMIT:
        raise GenbenchError(f"seed must be an integer from 0 to 2**63 - 1, got {seed!r}")
    return seed


def derived_seed(run_seed: int, purpose: str) -> int:
    """A generator seed in ``0 .. 2**32 - 1`` that depends on every bit of ``run_seed`` (and on ``purpose``)."""
    return _seed_hash(check_run_seed(run_seed), purpose)


@functools.lru_cache(maxsize=16)
def _seed_hash(run_seed: int, purpose: str) -> int:
    """SHA-256 once per run seed, not once per image."""
    digest = hashlib.sha256(f"genbench:{purpose}:{run_seed}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def sample_seed(run_seed: int, index: int) -> int:
    """The generator seed of image ``index`` in a run seeded with ``run_seed`` (see the module doc)."""
    return (derived_seed(run_seed, "samples") + index) % GENERATOR_SEEDS


def training_seed(run_seed: int) -> int:
    """The generator seed a seeded training uses (initialisation, data order, noise)."""
    return derived_seed(run_seed, "training")


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
        return self.pick(range(start, stop))

    def pick(self, indices: "range | list[int]") -> "Conditions":
        """The conditions of images ``indices``, in that order."""
        return Conditions(
            labels=[self.labels[i] for i in indices] if self.labels is not None else None,
            captions=[self.captions[i] for i in indices] if self.captions is not None else None,
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
