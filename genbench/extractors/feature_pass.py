"""The single feature pass: every extractor sees each image once, in fixed-size chunks.

Chunks are aligned to global image indices and have the protocol's ``feature_batch_size``,
so features (and the metrics from them) do not depend on the sampling batch size or the
shard count, even where a network's float32 output depends on its batch size. Each chunk is
copied into standard strides first: a grey batch read from an ``[N, H, W, 1]`` array has
channels-last strides, on which convolution kernels round differently, and the images'
source must not change the numbers.
"""

from __future__ import annotations

import torch

from genbench.extractors.base import FeatureExtractor


def feature_key(extractor: str, feature: str) -> str:
    return f"{extractor}/{feature}"


def extract_features(extractors: dict[str, FeatureExtractor], images: torch.Tensor,
                     captions: list[str] | None, chunk: int) -> dict[str, torch.Tensor]:
    """Features of ``images`` from every extractor, keyed ``extractor/feature``, float64 on the CPU."""
    parts: dict[str, list[torch.Tensor]] = {}
    for start in range(0, len(images), chunk):
        batch = images[start:start + chunk].clone(memory_format=torch.contiguous_format)
        batch_captions = captions[start:start + chunk] if captions is not None else None
        for name, extractor in extractors.items():
            for feature, rows in extractor.extract(batch, batch_captions).items():
                parts.setdefault(feature_key(name, feature), []).append(rows.double().cpu())
    return {key: torch.cat(rows) for key, rows in parts.items()}


def select(features: dict[str, torch.Tensor], extractor: str) -> dict[str, torch.Tensor]:
    """One extractor's features, keyed by feature name."""
    prefix = extractor + "/"
    return {k[len(prefix):]: v for k, v in features.items() if k.startswith(prefix)}
