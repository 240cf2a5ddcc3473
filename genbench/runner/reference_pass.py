"""The reference feature pass shared by every rank: each extracts a block of whole chunks, the main rank
concatenates them in order and fills its cache (other ranks need no cache and no shared disk).

Chunks are the protocol's ``feature_batch_size`` images from index 0, as in one process, so the
features equal a single process's whatever the number of ranks.
"""

from __future__ import annotations

import math

import torch

from genbench.evaluation.session import Evaluation, ReferenceFeatures
from genbench.extractors.base import FeatureExtractor
from genbench.extractors.feature_cache import cached_features
from genbench.extractors.feature_pass import extract_features
from genbench.runner.distributed import ProcessGroup


def block_features(extractors: dict[str, FeatureExtractor], images, captions: list[str] | None, chunk: int,
                   rank: int, world_size: int) -> dict[str, torch.Tensor]:
    """Features of rank ``rank``'s block of consecutive chunks (an empty dict when it has none)."""
    starts = list(range(0, len(images), chunk))
    per_rank = math.ceil(len(starts) / world_size)
    parts = [extract_features(extractors, images[start:start + chunk],
                              captions[start:start + chunk] if captions is not None else None, chunk)
             for start in starts[rank * per_rank:(rank + 1) * per_rank]]
    return {key: torch.cat([part[key] for part in parts]) for key in (parts[0] if parts else {})}


def shared_reference_features(group: ProcessGroup, evaluation: Evaluation) -> ReferenceFeatures | None:
    """``Evaluation.reference_features`` with every rank extracting its block on a cache miss; None on other ranks."""
    if not group.is_distributed:
        return evaluation.reference_features()
    dataset, extractors = evaluation.reference, evaluation.reference_extractors
    chunk = evaluation.protocol.sampling.feature_batch_size
    if not group.is_main:
        while "extract" in (command := group.broadcast_json(None, 0, "waiting for the reference feature pass")):
            name = command["extract"]
            part = block_features({name: extractors[name]}, dataset.images, dataset.captions, chunk,
                                  group.rank, group.world_size)
            group.send_tensors(part, 0, "sending reference features to rank 0")
        return None

    def extract_together(one: dict[str, FeatureExtractor], images, captions, chunk_size: int):
        (name,) = one
        group.broadcast_json({"extract": name}, 0, f"starting the reference pass of extractor '{name}'")
        parts = [block_features(one, images, captions, chunk_size, 0, group.world_size)]
        parts += [group.receive_tensors(rank, "receiving reference features") for rank in range(1, group.world_size)]
        keys = next(part for part in parts if part).keys()
        return {key: torch.cat([part[key] for part in parts if part]) for key in keys}

    result = cached_features(dataset, evaluation.reference_cache_identity, extractors, evaluation.protocol.extractors,
                             chunk, evaluation.context.cache_dir, extract=extract_together)
    group.broadcast_json({"done": True}, 0, "ending the reference feature pass")
    return result
