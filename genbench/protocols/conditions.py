"""Conditions: the class label or caption each generated image of a run is asked for.

Classes follow a balanced, seeded plan (``balanced_class_plan``): N / K images per class, each block
of K consecutive images a permutation of the K classes drawn from the run seed, so every class gets
the same share, every prefix of whole blocks is balanced too, and the order is recorded with the
result. Captions: image i gets caption ``(i // k) mod M`` with ``k`` samples per caption. Either way
image i's condition is the same whatever the batch size or shard count.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from genbench.datasets.base import ImageDataset
from genbench.errors import DataError, ProtocolError
from genbench.protocols.protocol import Protocol
from genbench.trust.hashing import sha256_json
from genbench.trust.seeds import CLASS_PLAN_VERSION, class_plan_seed


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


def balanced_class_plan(num_samples: int, num_classes: int, run_seed: int) -> list[int]:
    """The class of each image of a run: ``num_samples / num_classes`` per class, block b (images ``b·K`` to
    ``b·K + K - 1``) a permutation of the K classes drawn in turn from one generator seeded by the run seed
    (``genbench.trust.seeds.class_plan_seed``, rule ``CLASS_PLAN_VERSION``). A count that is not a multiple of
    K would favour some classes: it is refused."""
    if num_samples % num_classes:
        raise ProtocolError(f"sampling.num_samples = {num_samples} is not a multiple of the {num_classes} classes: "
                            f"a balanced class plan gives every class the same number of images (use "
                            f"{max(num_samples // num_classes, 1) * num_classes} or another multiple of {num_classes})")
    generator = torch.Generator().manual_seed(class_plan_seed(run_seed))
    blocks = [torch.randperm(num_classes, generator=generator) for _ in range(num_samples // num_classes)]
    return torch.cat(blocks).tolist() if blocks else []


def class_counts(labels: list[int], num_classes: int) -> list[int]:
    """Images per class, class 0 first."""
    return torch.bincount(torch.tensor(labels, dtype=torch.long), minlength=num_classes).tolist()


def class_plan_record(labels: list[int], num_classes: int, source: str) -> dict:
    """What a result records of its class labels: where they came from, the rule, the count per class and a hash
    of the order (a JSON list of ints)."""
    return {"source": source, "rule": CLASS_PLAN_VERSION if source == "plan" else None, "num_classes": num_classes,
            "per_class": class_counts(labels, num_classes), "sha256": sha256_json(labels)}


def plan_conditions(protocol: Protocol, reference: ImageDataset, run_seed: int | None = None) -> Conditions:
    """The balanced class plan seeded by ``run_seed`` (default: the protocol's seed; ``balanced_class_plan``), or
    the reference captions in order, each ``samples_per_caption`` times in a row: image i gets caption
    ``(i // k) mod len``."""
    n = protocol.sampling.num_samples
    k = protocol.sampling.samples_per_caption
    kind = protocol.sampling.conditions
    if kind == "classes":
        if not reference.num_classes:
            raise DataError(f"protocol '{protocol.name}' asks for class conditions but its data set has no classes")
        seed = protocol.sampling.seed if run_seed is None else run_seed
        return Conditions(labels=balanced_class_plan(n, reference.num_classes, seed))
    if kind == "captions":
        if not reference.captions:
            raise DataError(f"protocol '{protocol.name}' asks for caption conditions but its data set has no captions")
        return Conditions(captions=[reference.captions[(i // k) % len(reference.captions)] for i in range(n)])
    return Conditions()
