"""Metrics between two image folders, as torch-fidelity's command line computes them, with genbench's engine.

Both folders go through each needed extractor once, in fixed chunks, with their features cached
by the images' SHA-256 (a second comparison against the same folder reads them back). Keys are
torch-fidelity's own: ``frechet_inception_distance``, ``kernel_inception_distance_mean`` /
``_std``, ``inception_score_mean`` / ``_std`` (of the first folder), ``precision``, ``recall``,
``f_score`` (the first folder is the generated one). The metrics no torch-fidelity key names are
keyed by their genbench name: ``fd_dinov2`` (DINOv2 ViT-L/14), ``cmmd`` (CLIP ViT-L-14-336),
and ``density``, ``coverage``, ``vendi``, ``fid_infinity`` in Inception pool features (the
space of ``prc``). With ``bootstrap`` rounds, every two-set metric gains ``<key>_ci_low`` and
``<key>_ci_high``: its 95 % bootstrap interval (``genbench.metrics.bootstrap``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch_fidelity.metric_fid import KEY_METRIC_FID
from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD
from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD

from genbench.datasets.base import ImageDataset
from genbench.errors import GenbenchError, MetricError
from genbench.extractors.base import FeatureExtractor
from genbench.extractors.clip_image import build_clip_image_extractor
from genbench.extractors.dinov2 import build_dinov2_extractor
from genbench.extractors.inception import build_inception_extractor
from genbench.metrics.base import MetricInputs, MetricSpec, MetricValue
from genbench.metrics.bootstrap import compute_metric
from genbench.metrics.cmmd import CMMD
from genbench.metrics.fidelity import FID, ISC, KID, PRC_DEFAULTS, precision_recall
from genbench.metrics.frechet import FD, FID_INFINITY
from genbench.metrics.manifold import COVERAGE, DENSITY
from genbench.metrics.vendi import VENDI
from genbench.storage.caches import default_cache_dir
from genbench.extractors.feature_cache import reference_features
from genbench.runner.runner import ExtractorContext, resolve_device
from genbench.evaluation.samples import load_image_folder
from genbench.trust.hashing import images_sha256

#: genbench-named metrics: name -> (spec, extractor, feature).
NAMED: dict[str, tuple[MetricSpec, str, str]] = {
    "fd_dinov2": (FD, "dinov2", "cls"),
    "cmmd": (CMMD, "clip-image", "image"),
    "density": (DENSITY, "inception", "2048"),
    "coverage": (COVERAGE, "inception", "2048"),
    "vendi": (VENDI, "inception", "2048"),
    "fid_infinity": (FID_INFINITY, "inception", "2048"),
}
METRICS = ("fid", "kid", "isc", "prc", *NAMED)
#: Extractor -> how it is built (protocol-style settings, so its features are cached like a protocol's).
BUILDERS: dict[str, tuple[Callable[..., FeatureExtractor], dict[str, Any]]] = {
    "dinov2": (build_dinov2_extractor, {"size": "vitl14"}),
    "clip-image": (build_clip_image_extractor, {}),
}
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
    #: Bootstrap rounds for the 95 % interval of every two-set metric (0: none), and their seed.
    bootstrap: int = 0
    bootstrap_seed: int = 0


def _compute(spec: MetricSpec, generated: dict, reference: dict | None, feature: str, **settings: Any) -> MetricValue:
    try:
        return compute_metric(spec, MetricInputs(generated, reference,
                                                 {**spec.defaults, **settings, "feature": feature}))
    except MetricError as exc:
        hint = " (pass --allow-singular-covariance to compute it anyway)" if "full-rank" in str(exc) else ""
        raise MetricError(f"{exc}{hint}") from None


def folder_features(images: torch.Tensor, name: str, extractor: FeatureExtractor, settings: dict[str, Any],
                    cache_dir: Path) -> dict[str, torch.Tensor]:
    """The extractor's features of a folder's images, read from or written to the feature cache."""
    identity = {"dataset": "folder", "sha256": images_sha256(images)}
    features, _ = reference_features(ImageDataset(images), identity, {name: extractor}, {name: settings}, CHUNK,
                                     cache_dir)
    return {key.split("/", 1)[1]: value for key, value in features.items()}


def _with_interval(out: dict[str, float], key: str, value: MetricValue) -> None:
    if value.interval is not None:
        out[f"{key}_ci_low"], out[f"{key}_ci_high"] = value.interval["low"], value.interval["high"]


def compare_folders(options: CompareOptions) -> dict[str, float]:
    """torch-fidelity's metric keys and values for ``folder_a`` (generated) against ``folder_b`` (reference)."""
    metrics = options.metrics
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise GenbenchError(f"unknown metric '{unknown[0] if unknown else ''}' (choose from {', '.join(METRICS)})")
    if options.bootstrap < 0 or options.bootstrap == 1:
        raise GenbenchError(f"--bootstrap must be 0 (no interval) or at least 2 rounds, got {options.bootstrap}")
    needs_pool = any(m in ("fid", "kid", "prc") or NAMED.get(m, (None, ""))[1] == "inception" for m in metrics)
    wanted = {NAMED[m][1] for m in metrics if m in NAMED} | ({"inception"} if needs_pool or "isc" in metrics else set())
    needs_reference = any(m != "isc" and m != "vendi" for m in metrics)
    # the cheap checks first: a missing, empty or unreadable folder is reported before any weights are needed
    images_a = load_image_folder(options.folder_a)
    images_b = load_image_folder(options.folder_b) if needs_reference else None
    cache_dir = Path(options.cache_dir or default_cache_dir())
    context = ExtractorContext(resolve_device(options.device), options.weights_dir, options.trust_weights,
                               cache_dir, None)
    a: dict[str, torch.Tensor] = {}
    b: dict[str, torch.Tensor] = {}
    for name in sorted(wanted):
        if name == "inception":
            features = (["2048"] if needs_pool else []) + (["logits_unbiased"] if "isc" in metrics else [])
            extractor, settings = build_inception_extractor({"features": features}, context), {"kind": "inception"}
        else:
            build, settings = BUILDERS[name]
            extractor, settings = build(settings, context), {"kind": name, **settings}
        a.update(folder_features(images_a, name, extractor, settings, cache_dir))
        if images_b is not None:
            b.update(folder_features(images_b, name, extractor, settings, cache_dir))
    rounds = {"bootstrap": options.bootstrap, "bootstrap_seed": options.bootstrap_seed}
    out: dict[str, float] = {}
    if "isc" in metrics:
        value = _compute(ISC, a, None, "logits_unbiased", splits=options.isc_splits)
        out.update({KEY_METRIC_ISC_MEAN: value.value, KEY_METRIC_ISC_STD: value.std})
    if "fid" in metrics:
        value = _compute(FID, a, b, "2048", allow_singular_covariance=options.allow_singular_covariance, **rounds)
        out[KEY_METRIC_FID] = value.value
        _with_interval(out, KEY_METRIC_FID, value)
    if "kid" in metrics:
        value = _compute(KID, a, b, "2048", subset_size=options.kid_subset_size, subsets=options.kid_subsets,
                         **rounds)
        out.update({KEY_METRIC_KID_MEAN: value.value, KEY_METRIC_KID_STD: value.std})
        _with_interval(out, KEY_METRIC_KID_MEAN, value)
    if "prc" in metrics:
        out.update(precision_recall(MetricInputs(a, b, {**PRC_DEFAULTS, "feature": "2048"})))
    for key in (m for m in metrics if m in NAMED):
        spec, _, feature = NAMED[key]
        singular = ({"allow_singular_covariance": options.allow_singular_covariance}
                    if "allow_singular_covariance" in spec.defaults else {})
        value = _compute(spec, a, b if spec.needs_reference else None, feature, **singular, **rounds)
        out[key] = value.value
        _with_interval(out, key, value)
    return out
