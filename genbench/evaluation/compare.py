"""Metrics between two image folders, as torch-fidelity's command line computes them, with genbench's engine.

Both folders go through each needed extractor once, in fixed chunks, with their features cached
by the images' SHA-256 (a second comparison against the same folder reads them back). Keys are
torch-fidelity's own: ``frechet_inception_distance``, ``kernel_inception_distance_mean`` /
``_std``, ``inception_score_mean`` / ``_std`` (of the first folder), ``precision``, ``recall``,
``f_score`` (the first folder is the generated one). The metrics no torch-fidelity key names are
keyed by their genbench name: ``sfid`` (the ADM evaluator's, on the inception extractor's ``spatial``
feature), ``fd_dinov2`` (DINOv2 ViT-L/14), ``cmmd`` (CLIP ViT-L-14-336),
and ``density``, ``coverage``, ``vendi``, ``fid_infinity`` in Inception pool features (the
space of ``prc``). With ``bootstrap`` rounds, every two-set metric gains ``<key>_ci_low`` and
``<key>_ci_high``: its 95 % bootstrap interval (``genbench.metrics.bootstrap``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch_fidelity.metric_fid import KEY_METRIC_FID
from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD
from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD

from genbench.datasets.base import ImageDataset
from genbench.errors import GenbenchError, MetricError, notice
from genbench.evaluation.device import resolve_device, use_threads
from genbench.evaluation.options import CompareOptions
from genbench.evaluation.samples import load_image_folder
from genbench.extractors.base import ExtractorContext, FeatureExtractor
from genbench.extractors.feature_cache import cached_features
from genbench.metrics.base import MetricInputs, MetricSpec, MetricValue
from genbench.metrics.bootstrap import compute_metric
from genbench.metrics.fidelity import PRC_DEFAULTS, precision_recall
from genbench.protocols.additions import ADDABLE, check_bootstrap
from genbench.registry import get_registry
from genbench.storage.caches import default_cache_dir
from genbench.trust.hashing import images_sha256

#: The Inception pool features (the space of ``prc``) are where added metrics without their own extractor go.
POOL = ("inception", "2048")
METRICS = ("fid", "kid", "isc", "prc", *ADDABLE, "sfid")
DEFAULT_METRICS = ("fid", "kid", "isc")
#: Features are extracted in chunks of this many images, whatever the device: results never depend on it.
CHUNK = 50


def _compute(spec: MetricSpec, generated: dict, reference: dict | None, feature: str, **settings: Any) -> MetricValue:
    """``spec`` on one extractor's features, with a hint where a covariance is singular."""
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
    features, _ = cached_features(ImageDataset(images), identity, {name: extractor}, {name: settings}, CHUNK,
                                  cache_dir)
    return {key.split("/", 1)[1]: value for key, value in features.items()}


def _with_interval(out: dict[str, float], key: str, value: MetricValue) -> None:
    if value.interval is not None:
        out[f"{key}_ci_low"], out[f"{key}_ci_high"] = value.interval["low"], value.interval["high"]


def compare_folders(options: CompareOptions) -> dict[str, float]:
    """torch-fidelity's metric keys and values for ``folder_a`` (generated) against ``folder_b`` (reference)."""
    metrics = options.metrics or DEFAULT_METRICS
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise GenbenchError(f"unknown metric '{unknown[0] if unknown else ''}' (choose from {', '.join(METRICS)})")
    check_bootstrap(options.bootstrap)
    use_threads(options.threads)
    registry = get_registry()
    added = {key: ADDABLE[key] for key in metrics if key in ADDABLE}
    needs_pool = any(m in ("fid", "kid", "prc") for m in metrics) or any(a.extractor is None for a in added.values())
    tables = {a.extractor: a.table for a in added.values() if a.extractor is not None}
    if needs_pool or "isc" in metrics or "sfid" in metrics:
        features = ((["2048"] if needs_pool else []) + (["logits_unbiased"] if "isc" in metrics else [])
                    + (["spatial"] if "sfid" in metrics else []))
        tables[POOL[0]] = {"kind": "inception", "features": features}
    needs_reference = any(m != "isc" and m != "vendi" for m in metrics)
    # the cheap checks first: a missing, empty or unreadable folder is reported before any weights are needed
    images_a = load_image_folder(options.folder_a)
    images_b = load_image_folder(options.folder_b) if needs_reference else None
    cache_dir = Path(options.cache_dir or default_cache_dir())
    context = ExtractorContext(resolve_device(options.device), options.weights_dir, options.trust_weights,
                               cache_dir, None)
    a: dict[str, torch.Tensor] = {}
    b: dict[str, torch.Tensor] = {}
    for name, table in sorted(tables.items()):
        settings = {k: v for k, v in table.items() if k != "kind"}
        extractor = registry.extractor(table["kind"]).build(settings, context)
        cache_settings = table if name != POOL[0] or "sfid" in metrics else {"kind": "inception"}
        a.update(folder_features(images_a, name, extractor, cache_settings, cache_dir))
        if images_b is not None:
            b.update(folder_features(images_b, name, extractor, cache_settings, cache_dir))
    rounds = {"bootstrap": options.bootstrap, "bootstrap_seed": options.bootstrap_seed}
    out: dict[str, float] = {}
    if "isc" in metrics:
        value = _compute(registry.metric("isc"), a, None, "logits_unbiased", splits=options.isc_splits)
        out.update({KEY_METRIC_ISC_MEAN: value.value, KEY_METRIC_ISC_STD: value.std})
    if "fid" in metrics:
        value = _compute(registry.metric("fid"), a, b, POOL[1],
                         allow_singular_covariance=options.allow_singular_covariance, **rounds)
        out[KEY_METRIC_FID] = value.value
        _with_interval(out, KEY_METRIC_FID, value)
    if "kid" in metrics:
        value = _compute(registry.metric("kid"), a, b, POOL[1], subset_size=options.kid_subset_size,
                         subsets=options.kid_subsets, **rounds)
        out.update({KEY_METRIC_KID_MEAN: value.value, KEY_METRIC_KID_STD: value.std})
        _with_interval(out, KEY_METRIC_KID_MEAN, value)
    if "prc" in metrics:
        out.update(precision_recall(MetricInputs(a, b, {**PRC_DEFAULTS, "feature": POOL[1]})))
    if "sfid" in metrics:
        out["sfid"] = _compute(registry.metric("sfid"), a, b, "spatial",
                               allow_singular_covariance=options.allow_singular_covariance).value
    for key, addition in added.items():
        spec = registry.metric(addition.metric)
        singular = ({"allow_singular_covariance": options.allow_singular_covariance}
                    if "allow_singular_covariance" in spec.defaults else {})
        feature = addition.feature if addition.extractor is not None else POOL[1]
        value = _compute(spec, a, b if spec.needs_reference else None, feature, **singular, **rounds)
        out[key] = value.value
        _with_interval(out, key, value)
    if images_b is not None and torch.equal(images_a, images_b):
        notice("the two folders hold identical images: their distances are 0 up to round-off (clamped at 0)")
    return out
