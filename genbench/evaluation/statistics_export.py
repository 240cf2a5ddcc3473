"""A protocol's Fréchet statistics written as an ``.npz`` (``--export-stats``), so two labs compare without
sharing images: ``genbench compare A.npz B.npz``, or a run against the file with ``--reference-file``.

One pair per feature space the protocol's Fréchet distances read (metrics whose spec takes ``statistics``), in
protocol order: the first under ``mu``/``sigma`` (the name pytorch-fid, torch-fidelity, clean-fid and the ADM
evaluator read), the inception extractor's ``spatial`` feature (sFID) under ``mu_s``/``sigma_s`` as in ADM's
batches, any other under ``mu_EXTRACTOR_FEATURE``; ``genbench_statistics`` names each pair's space and weights
(``genbench.storage.statistics_files``). Each pair is torch-fidelity's ``fid_features_to_statistics`` of the
features (``np.mean``, ``np.cov``: pytorch-fid's and the evaluator's estimator), or, for a reference that came
with published statistics in that space, those statistics as they were read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from genbench import __version__
from genbench.errors import ProtocolError
from genbench.evaluation.reference_plan import metric_space
from genbench.extractors.base import FeatureExtractor
from genbench.extractors.feature_pass import feature_key
from genbench.protocols.protocol import MetricEntry, Protocol
from genbench.registry import Registry
from genbench.storage.statistics_files import Space, Statistics, write_statistics_file


def statistics_entries(protocol: Protocol, registry: Registry) -> dict[str, MetricEntry]:
    """Array name -> the first metric entry of each feature space the protocol's Fréchet distances read."""
    chosen: dict[tuple[str, str], MetricEntry] = {}
    for entry in protocol.metrics:
        spec = registry.metric(entry.metric)
        if spec.needs_reference and spec.statistics:
            chosen.setdefault((entry.extractor, entry.feature), entry)
    if not chosen:
        raise ProtocolError(f"protocol '{protocol.name}' has no Fréchet distance, so it has no statistics to export")
    names = {}
    for index, ((extractor, feature), entry) in enumerate(chosen.items()):
        kind = protocol.extractors[extractor]["kind"]
        if kind == "inception" and feature == "spatial":
            name = "mu_s"
        elif index == 0:
            name = "mu"
        else:
            name = re.sub(r"\W", "_", f"mu_{extractor}_{feature}")
        names[name] = entry
    return names


def features_statistics(rows: torch.Tensor) -> tuple[Any, Any]:
    """``(mu, sigma)`` of feature rows, float64, by torch-fidelity's ``fid_features_to_statistics``."""
    from torch_fidelity.metric_fid import fid_features_to_statistics

    fitted = fid_features_to_statistics(rows.double())
    return fitted["mu"], fitted["sigma"]


def collect_statistics(protocol: Protocol, registry: Registry, extractors: dict[str, FeatureExtractor],
                       features: dict[str, torch.Tensor], published: dict[str, Statistics]) -> list[Statistics]:
    """The pairs to export: ``published`` ones (by metric key) where a metric read them, else fitted to
    ``features`` (keyed ``extractor/feature``)."""
    out = []
    for name, entry in statistics_entries(protocol, registry).items():
        if entry.key in published:
            given = published[entry.key]
            out.append(Statistics(name, given.mu, given.sigma, given.space, given.count))
            continue
        rows = features[feature_key(entry.extractor, entry.feature)]
        space = metric_space(protocol, registry, entry)
        recorded = Space(space.kind, space.feature, space.settings, extractors[entry.extractor].identity,
                         f"computed by genbench {__version__} from {len(rows)} images")
        mu, sigma = features_statistics(rows)
        out.append(Statistics(name, mu, sigma, recorded, len(rows)))
    return out


def export_statistics(path: Path, statistics: list[Statistics], about: dict[str, Any]) -> str:
    """Write ``statistics`` to ``path`` (``about``: protocol, fingerprint, side); returns a one-line summary."""
    write_statistics_file(path, statistics, {**about, "genbench": __version__})
    pairs = ", ".join(f"{s.name}/sigma{s.name[2:]} ({s.space.label()})" for s in statistics)
    return f"statistics written to {path}: {pairs}"
