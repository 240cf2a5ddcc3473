"""Seeds: which generator seed image i of a run gets, and the version of that rule (part of every fingerprint).

Image i of a run always gets seed ``sample_seed(run_seed, i)``, so its noise is the same whatever
the batch size, the shard count or the number of processes.

torch's CPU generator (mt19937) keeps only the low 32 bits of a seed, so a per-image seed must
live in that range and every bit of the run seed must reach it: image i gets
``(h(run_seed) + i) mod 2**32`` with ``h`` a SHA-256 of the run seed. Images of one run never
share a seed (consecutive offsets), and two run seeds share images only when their offsets lie
within N of each other (probability about 2N / 2**32: 2.3e-5 for 50 000 images).
"""

from __future__ import annotations

import functools
import hashlib

from genbench.errors import GenbenchError

#: Version of the rule that gives image i its seed (``genbench.runner.shards``); part of every fingerprint.
#: 2: SHA-256-derived 32-bit generator seeds (1 let torch drop the run seed's bits).
SAMPLING_PLAN_VERSION = 2


#: Version of the rule that gives image i of a class-conditional run its class (``genbench.protocols.conditions.
#: balanced_class_plan``); part of the fingerprint of class-conditional protocols only, so that the fingerprints of
#: the others stay what they were. 1: N / K images per class, each block of K images a seeded permutation of the K.
CLASS_PLAN_VERSION = 1


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


def class_plan_seed(run_seed: int) -> int:
    """The generator seed of a class-conditional run's class order (``CLASS_PLAN_VERSION``)."""
    return derived_seed(run_seed, "classes")


def training_seed(run_seed: int) -> int:
    """The generator seed a seeded training uses (initialisation, data order, noise)."""
    return derived_seed(run_seed, "training")
