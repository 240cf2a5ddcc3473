"""The extractor contract: uint8 images (and captions) in, named per-image feature rows out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from genbench.datasets.base import DataRequest, ImageDataset


class FeatureExtractor(ABC):
    """A frozen network run once over every batch; metrics only ever see its features.

    ``extract`` returns float64 CPU tensors ``[N, D]`` keyed by feature name, so statistics
    downstream accumulate in float64 whatever the network computes in.
    """

    #: Feature names this extractor returns, e.g. ``("2048", "logits_unbiased")``.
    feature_names: tuple[str, ...] = ()

    @property
    @abstractmethod
    def weights_sha256(self) -> str:
        """SHA-256 of the weights actually loaded; it enters the protocol fingerprint."""

    @property
    def identity(self) -> Any:
        """What enters the protocol fingerprint for this extractor: its weights' SHA-256, plus any
        setting resolved at build time that changes features without appearing in the protocol file."""
        return self.weights_sha256

    @abstractmethod
    def extract(self, images: torch.Tensor, captions: list[str] | None = None) -> dict[str, torch.Tensor]:
        """Features of uint8 images ``[N, C, H, W]`` (grey or RGB as the protocol says)."""

    def describe(self) -> dict[str, Any]:
        """Settings of this extractor that change its numbers (recorded in results)."""
        return {"weights_sha256": self.weights_sha256}


@dataclass(frozen=True)
class ExtractorSpec:
    """What a plugin's ``genbench_extractors`` hook returns: a named extractor kind.

    ``build(settings, context)`` makes the extractor from the protocol's settings for it;
    ``context`` carries the device, the weights directory and the trust flag.
    """

    name: str
    description: str
    build: Callable[..., FeatureExtractor]
    #: Settings a protocol's ``[extractors.NAME]`` table may give, with their defaults (None: no default);
    #: any other key is refused when the protocol is used, naming the closest of these.
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExtractorContext:
    """What extractor builders may need besides their protocol settings: the device, where weights, caches and
    data live, whether unofficial weights are accepted, and a way to load a registered data set (an extractor
    that trains on the protocol's data)."""

    device: torch.device
    weights_dir: Path | None
    trust_weights: bool
    cache_dir: Path
    data_dir: Path | None
    load_dataset: Callable[[str, DataRequest], ImageDataset] | None = None
