"""``genbench compare`` when a side is a statistics file (``.npz`` or EDM2's ``.pkl``): Fréchet distances between
two sets known by their feature statistics, so two labs compare without sharing images.

Each side is a statistics file (``genbench.storage.statistics_files``) or a folder of images, whose torch-fidelity
Inception features are fitted the same way (``np.mean``, ``np.cov``). The distance is
``genbench.metrics.adm_frechet.evaluator_frechet_distance``: pytorch-fid's ``calculate_frechet_distance`` (and the
ADM evaluator's) step for step, ε fallback included, by the exact Cholesky route where both covariances are
positive definite. ``fid`` reads ``mu``/``sigma`` (key ``frechet_inception_distance``; ``frechet_distance`` when
genbench's own files place them in another extractor's space), ``sfid`` reads ``mu_s``/``sigma_s`` (key
``sfid``). Without ``--metrics``: ``fid``, and ``sfid`` when both sides have those statistics. Metrics that need
the images themselves (KID, IS, precision, recall, ...) are refused in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genbench.errors import GenbenchError, MetricError
from genbench.evaluation.compare import compare_folders, folder_features
from genbench.evaluation.device import resolve_device, use_threads
from genbench.evaluation.options import CompareOptions
from genbench.evaluation.samples import load_image_folder
from genbench.extractors.base import ExtractorContext
from genbench.metrics.adm_frechet import evaluator_frechet_distance
from genbench.metrics.blas import one_blas_thread
from genbench.registry import get_registry
from genbench.storage.caches import default_cache_dir
from genbench.storage.statistics_files import CONVENTIONS, Space, Statistics, read_statistics_file

#: Metric -> the statistics it reads, by their name in a file.
NAMES = {"fid": "mu", "sfid": "mu_s"}
SUFFIXES = (".npz", ".pkl")


def is_statistics_file(path: Path) -> bool:
    """Whether ``path`` is given as a statistics file rather than a folder of images."""
    return Path(path).suffix.lower() in SUFFIXES and not Path(path).is_dir()


def _folder_statistics(folder: Path, metrics: tuple[str, ...], options: CompareOptions) -> dict[str, Statistics]:
    """A folder's torch-fidelity Inception statistics in the spaces ``metrics`` read."""
    from torch_fidelity.metric_fid import fid_features_to_statistics

    images = load_image_folder(folder)
    features = [CONVENTIONS[NAMES[m]].feature for m in metrics]
    table = {"kind": "inception", "features": features}
    cache_dir = Path(options.cache_dir or default_cache_dir())
    context = ExtractorContext(resolve_device(options.device), options.weights_dir, options.trust_weights,
                               cache_dir, None)
    extractor = get_registry().extractor("inception").build({"features": features}, context)
    rows = folder_features(images, "inception", extractor, table, cache_dir)
    out = {}
    for metric in metrics:
        name = NAMES[metric]
        fitted = fid_features_to_statistics(rows[CONVENTIONS[name].feature].double())
        out[name] = Statistics(name, fitted["mu"], fitted["sigma"], CONVENTIONS[name], len(images))
    return out


def _file_statistics(path: Path) -> dict[str, Statistics]:
    return {item.name: item for item in read_statistics_file(path).statistics}


def _chosen(options: CompareOptions, files: dict[Path, dict[str, Statistics]]) -> tuple[str, ...]:
    """The metrics asked for, or fid (and sfid where every file has mu_s); others are refused."""
    if options.metrics:
        refused = [m for m in options.metrics if m not in NAMES]
        if refused:
            raise GenbenchError(f"metric '{refused[0]}' needs the images themselves, and "
                                f"{', '.join(str(p) for p in files)} holds statistics only (with statistics files "
                                f"compare computes {', '.join(NAMES)})")
        return options.metrics
    return ("fid",) + (("sfid",) if all("mu_s" in held for held in files.values()) else ())


def _pair(metric: str, sides: list[tuple[Path, dict[str, Statistics]]]) -> tuple[Statistics, Statistics]:
    """The two sides' statistics ``metric`` reads, in one feature space."""
    name = NAMES[metric]
    found = []
    for path, held in sides:
        if name not in held:
            raise MetricError(f"{metric}: {path} has no {name}/sigma{name[2:]} (it has: "
                              f"{', '.join(held) or 'none'})")
        found.append(held[name])
    first, second = found
    if _space_key(first.space) != _space_key(second.space):
        raise MetricError(f"{metric}: {sides[0][0]} holds {first.space.label()} statistics, {sides[1][0]} "
                          f"{second.space.label()}: statistics compare only within one feature space")
    return first, second


def _space_key(space: Space) -> tuple[Any, ...]:
    return space.kind, space.feature, tuple(sorted(space.settings.items()))


def compare_statistics(options: CompareOptions) -> dict[str, float]:
    """Fréchet distances between ``folder_a`` and ``folder_b`` where at least one is a statistics file."""
    from torch_fidelity.metric_fid import KEY_METRIC_FID

    use_threads(options.threads)
    paths = [Path(options.folder_a), Path(options.folder_b)]
    files = {path: _file_statistics(path) for path in paths if is_statistics_file(path)}
    metrics = _chosen(options, files)
    sides = [(path, files[path] if path in files else _folder_statistics(path, metrics, options)) for path in paths]
    out: dict[str, float] = {}
    for metric in metrics:
        first, second = _pair(metric, sides)
        with one_blas_thread():
            value, _ = evaluator_frechet_distance(metric, first.as_dict(), second.as_dict())
        key = "sfid" if metric == "sfid" else (KEY_METRIC_FID if first.space.kind == "inception"
                                              else "frechet_distance")
        out[key] = value
    return out


def compare(options: CompareOptions) -> dict[str, float]:
    """``genbench compare``: two folders (``compare_folders``), or statistics files (``compare_statistics``)."""
    if any(is_statistics_file(path) for path in (options.folder_a, options.folder_b)):
        return compare_statistics(options)
    return compare_folders(options)
