"""Metrics between two image folders, as torch-fidelity's command line computes them, with genbench's engine.

Both folders go through torch-fidelity's InceptionV3 once, in fixed chunks, with their features
cached by the images' SHA-256 (a second comparison against the same folder reads them back).
Keys are torch-fidelity's own: ``frechet_inception_distance``, ``kernel_inception_distance_mean``
/ ``_std``, ``inception_score_mean`` / ``_std`` (of the first folder), ``precision``, ``recall``,
``f_score`` (the first folder is the generated one).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch_fidelity.metric_fid import KEY_METRIC_FID
from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD
from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD

from genbench.datasets.base import ImageDataset
from genbench.errors import GenbenchError, MetricError
from genbench.extractors.inception import build_inception_extractor
from genbench.metrics.base import MetricInputs, MetricSpec
from genbench.metrics.fidelity import FID, ISC, KID, PRC_DEFAULTS, precision_recall
from genbench.reference_cache import default_cache_dir, reference_features
from genbench.runner import ExtractorContext, resolve_device
from genbench.samples import load_image_folder
from genbench.scoring import images_sha256

METRICS = ("fid", "kid", "isc", "prc")
#: Features are extracted in chunks of this many images, whatever the device: results never depend on it.
CHUNK = 50


@dataclass
class CompareOptions:
    """Everything ``genbench compare`` accepts."""

    folder_a: Path
    folder_b: Path
    metrics: tuple[str, ...] = ("fid", "kid", "isc")
    kid_subset_size: int = 1000
    kid_subsets: int = 100
    isc_splits: int = 10
    allow_singular_covariance: bool = False
    device: str | None = None
    weights_dir: Path | None = None
    cache_dir: Path | None = None
    trust_weights: bool = False


def _compute(spec: MetricSpec, generated: dict, reference: dict | None, feature: str, **settings: Any):
    try:
        return spec.compute(MetricInputs(generated, reference, {**spec.defaults, **settings, "feature": feature}))
    except MetricError as exc:
        hint = " (pass --allow-singular-covariance to compute it anyway)" if "full-rank" in str(exc) else ""
        raise MetricError(f"{exc}{hint}") from None


def folder_features(images: torch.Tensor, extractor, cache_dir: Path) -> dict[str, torch.Tensor]:
    """The extractor's features of a folder's images, read from or written to the feature cache."""
    identity = {"dataset": "folder", "sha256": images_sha256(images)}
    features, _ = reference_features(ImageDataset(images), identity, {"inception": extractor},
                                     {"inception": {"kind": "inception"}}, CHUNK, cache_dir)
    return {key.split("/", 1)[1]: value for key, value in features.items()}


def compare_folders(options: CompareOptions) -> dict[str, float]:
    """torch-fidelity's metric keys and values for ``folder_a`` (generated) against ``folder_b`` (reference)."""
    unknown = [m for m in options.metrics if m not in METRICS]
    if unknown or not options.metrics:
        raise GenbenchError(f"unknown metric '{unknown[0] if unknown else ''}' (choose from {', '.join(METRICS)})")
    needs_pool = any(m in options.metrics for m in ("fid", "kid", "prc"))
    features = (["2048"] if needs_pool else []) + (["logits_unbiased"] if "isc" in options.metrics else [])
    # the cheap checks first: a missing, empty or unreadable folder is reported before any weights are needed
    images_a = load_image_folder(options.folder_a)
    images_b = load_image_folder(options.folder_b) if needs_pool else None
    cache_dir = Path(options.cache_dir or default_cache_dir())
    context = ExtractorContext(resolve_device(options.device), options.weights_dir, options.trust_weights,
                               cache_dir, None)
    extractor = build_inception_extractor({"features": features}, context)
    a = folder_features(images_a, extractor, cache_dir)
    b = folder_features(images_b, extractor, cache_dir) if images_b is not None else None
    out: dict[str, float] = {}
    if "isc" in options.metrics:
        value = _compute(ISC, a, None, "logits_unbiased", splits=options.isc_splits)
        out.update({KEY_METRIC_ISC_MEAN: value.value, KEY_METRIC_ISC_STD: value.std})
    if "fid" in options.metrics:
        value = _compute(FID, a, b, "2048", allow_singular_covariance=options.allow_singular_covariance)
        out[KEY_METRIC_FID] = value.value
    if "kid" in options.metrics:
        value = _compute(KID, a, b, "2048", subset_size=options.kid_subset_size, subsets=options.kid_subsets)
        out.update({KEY_METRIC_KID_MEAN: value.value, KEY_METRIC_KID_STD: value.std})
    if "prc" in options.metrics:
        out.update(precision_recall(MetricInputs(a, b, {**PRC_DEFAULTS, "feature": "2048"})))
    return out
