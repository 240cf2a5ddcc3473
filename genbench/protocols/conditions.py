"""Conditions: the class label or caption each generated image of a run is asked for.

Image i gets condition ``i mod K`` (class ``i mod num_classes``; caption ``(i // k) mod M`` with
``k`` samples per caption), so its condition is the same whatever the batch size or shard count.
"""

from __future__ import annotations

from dataclasses import dataclass

from genbench.datasets.base import ImageDataset
from genbench.errors import DataError
from genbench.protocols.protocol import Protocol


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
