"""Features of an image set (a protocol's reference split, a folder), computed once per (set identity,
extractor, weights, settings) and cached.

The cache lives under ``~/.cache/genbench`` (``GENBENCH_CACHE`` or ``--cache-dir`` move it).
Each entry is hash-verified: a corrupt or truncated file is recomputed, never trusted. Writers hold
the cache (``housekeeping.in_use``), so temp files of killed writers are removed and live ones are not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import torch

from genbench.datasets.base import ImageDataset
from genbench.extractors.base import FeatureExtractor
from genbench.extractors.feature_pass import extract_features, feature_key
from genbench.storage.files import load_verified, save_verified
from genbench.storage.housekeeping import in_use
from genbench.trust.hashing import sha256_json


def feature_cache_key(data_identity: dict[str, Any], extractor_name: str, extractor: FeatureExtractor,
                        settings: dict[str, Any], chunk: int) -> str:
    """Hash of everything that changes one extractor's reference features."""
    return sha256_json({"data": data_identity, "extractor": extractor_name, "settings": settings,
                        "described": extractor.describe(), "feature_batch_size": chunk})


def cached_features(dataset: ImageDataset, data_identity: dict[str, Any],
                       extractors: dict[str, FeatureExtractor], extractor_settings: dict[str, dict[str, Any]],
                       chunk: int, cache_root: Path, extract: Callable = extract_features,
                       ) -> tuple[dict[str, torch.Tensor], dict[str, bool]]:
    """Features of the reference set for every extractor (keyed ``extractor/feature``) and which were cache hits.

    ``extract`` computes one extractor's features on a miss (``extract_features``, or the ranks' shared pass).
    """
    features: dict[str, torch.Tensor] = {}
    hits: dict[str, bool] = {}
    with in_use(Path(cache_root) / "reference"):  # alone in the cache, clean up after dead writers
        for name, extractor in extractors.items():
            key = feature_cache_key(data_identity, name, extractor, extractor_settings[name], chunk)
            path = Path(cache_root) / "reference" / f"{data_identity['dataset']}-{name}-{key[:20]}.safetensors"
            cached = load_verified(path)
            hits[name] = cached is not None
            if cached is None:
                cached = extract({name: extractor}, dataset.images, dataset.captions, chunk)
                save_verified(path, cached, {"data": data_identity, "extractor": name})
            features.update({k: v for k, v in cached.items() if k.startswith(feature_key(name, ""))})
    return features, hits
