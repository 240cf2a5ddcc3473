"""An evaluation: a protocol made ready to score images, with no model in sight.

``open_evaluation`` resolves the device and every metric's settings, builds the extractors (weights
checked), loads the reference set and checks its identity against the protocol's pin; the fingerprint
covers all of them. ``Evaluation.score`` then turns generated features into the result's metrics.
``genbench run`` opens one before sampling; ``score``, ``reference`` and ``compare`` use it directly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from genbench.datasets.base import ImageDataset
from genbench.errors import ProtocolError
from genbench.evaluation.compute import compute_metrics
from genbench.evaluation.conversion import Conversion
from genbench.evaluation.data import checked_reference_identity, data_identity, load_reference
from genbench.evaluation.device import resolve_device
from genbench.evaluation.options import ProtocolOptions
from genbench.evaluation.preflight import check_metric_requirements
from genbench.evaluation.record import reference_section, result_record
from genbench.evaluation.reference_plan import ReferencePlan, plan_reference
from genbench.evaluation.settings import metric_settings
from genbench.extractors.base import ExtractorContext, FeatureExtractor
from genbench.extractors.feature_cache import cached_features
from genbench.protocols.additions import drop_metrics
from genbench.protocols.conditions import Conditions
from genbench.protocols.overrides import override_protocol, split_settings
from genbench.protocols.protocol import Protocol
from genbench.registry import Registry
from genbench.storage.caches import default_cache_dir
from genbench.storage.results import ensure_writable

#: ``(features, cache hits)`` of the reference set, keyed ``extractor/feature``.
ReferenceFeatures = tuple[dict[str, torch.Tensor], dict[str, bool]]


@dataclass
class Evaluation:
    """A protocol ready to score samples: device, metric settings, built extractors, the reference set with
    its content identity, the plan of what each metric reads of it, and the fingerprint that covers all of them."""

    protocol: Protocol
    registry: Registry
    device: torch.device
    context: ExtractorContext
    metric_settings: dict[str, dict[str, Any]]
    extractors: dict[str, FeatureExtractor]
    reference: ImageDataset
    reference_identity: dict[str, Any]
    fingerprint: str
    plan: ReferencePlan

    @property
    def reference_cache_identity(self) -> dict[str, Any]:
        """What keys the reference set's cached features: its name and geometry, and its content identity."""
        split = self.protocol.data.reference_split
        return {**data_identity(self.protocol, split), "sha256": self.reference_identity["sha256"]}

    def converted(self, conversion: Conversion) -> "Evaluation":
        """This evaluation for images the harness converts: a lossy conversion changes the fingerprint."""
        return dataclasses.replace(self, fingerprint=conversion.fingerprint(self.fingerprint))

    @property
    def reference_extractors(self) -> dict[str, FeatureExtractor]:
        """The extractors some metric needs the reference images' features of (``ReferencePlan.extractors``)."""
        return {name: self.extractors[name] for name in self.plan.extractors}

    def reference_features(self, extractors: dict[str, FeatureExtractor] | None = None) -> ReferenceFeatures:
        """The reference set's features from ``extractors`` (default: the planned ones), read from or written to
        the feature cache."""
        protocol = self.protocol
        chosen = self.reference_extractors if extractors is None else extractors
        return cached_features(self.reference, self.reference_cache_identity, chosen, protocol.extractors,
                               protocol.sampling.feature_batch_size, self.context.cache_dir)

    def score(self, generated: dict[str, torch.Tensor], conditions: Conditions,
              reference: ReferenceFeatures | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """The protocol's metrics of ``generated`` features against the reference features (or, where the plan says
        so, its published statistics), and the result's ``reference`` section."""
        features, hits = reference or self.reference_features()
        metrics = compute_metrics(self.protocol, self.registry, self.metric_settings, generated, features,
                                  conditions, self.reference.num_classes, self.reference.labels,
                                  self.plan.metric_statistics())
        return metrics, self.reference_section(hits)

    def check_metrics(self, conditions: Conditions) -> None:
        """Every metric's check against the planned samples with their ``conditions`` and the reference set, before
        any work (``genbench.evaluation.preflight``)."""
        check_metric_requirements(self.protocol, self.registry, self.metric_settings, self.extractors,
                                  len(self.reference), conditions, self.plan.statistics,
                                  reference_labels=self.reference.labels, num_classes=self.reference.num_classes)

    def reference_section(self, cache_hits: dict[str, bool]) -> dict[str, Any]:
        """The result's ``reference`` section (``genbench.evaluation.record.reference_section``)."""
        return reference_section(self.protocol, self.reference, self.reference_identity, cache_hits,
                                 self.plan.describe())

    def record(self, run_id: str, reference: dict[str, Any], metrics: dict[str, Any], started: str, clock: float,
               command: list[str] | None, **sections: Any) -> dict[str, Any]:
        """The result record of this evaluation (``genbench.evaluation.record.result_record``)."""
        return result_record(self.protocol, self.fingerprint, self.extractors, self.device, run_id, reference,
                             metrics, started, clock, command, **sections)


def build_extractors(protocol: Protocol, registry: Registry, context: ExtractorContext) -> dict[str, FeatureExtractor]:
    """Every extractor the protocol names, built on the run's device with its weights checked."""
    extractors = {}
    for name, settings in protocol.extractors.items():
        spec = registry.extractor(settings["kind"])
        extractors[name] = spec.build({k: v for k, v in settings.items() if k != "kind"}, context)
    for entry in protocol.metrics:
        names = extractors[entry.extractor].feature_names
        if entry.feature not in names:
            raise ProtocolError(f"protocol {protocol.source}: metric '{entry.key}' reads feature '{entry.feature}' "
                                f"that extractor '{entry.extractor}' does not provide (it has: {', '.join(names)})")
    return extractors


def open_evaluation(protocol: Protocol, options: ProtocolOptions, registry: Registry,
                    log: Callable[[str], None]) -> Evaluation:
    """Make ``protocol`` ready to score samples under ``options`` (see the module doc)."""
    device = resolve_device(options.device)
    settings = metric_settings(protocol, registry)
    data_dir = Path(options.data_dir) if options.data_dir else None
    cache_dir = ensure_writable(Path(options.cache_dir or default_cache_dir()), "cache directory")  # before any work
    context = ExtractorContext(device, options.weights_dir, options.trust_weights, cache_dir, data_dir,
                               lambda name, request: registry.dataset(name).load(request))
    extractors = build_extractors(protocol, registry, context)
    reference = load_reference(protocol, data_dir, options.reference_file, registry,
                               options.allow_reference_mismatch)
    identity = checked_reference_identity(protocol, reference, options.allow_reference_mismatch)
    if identity.get("mismatch"):
        log(f"reference data differs from the protocol's pin ({identity['mismatch']['expected'][:16]}...): "
            f"scored under its own fingerprint, never ranked with the standard one")
    for pin in (reference.info or {}).get("mismatch", {}):
        log(f"reference data: its {pin} differs from the protocol's pin (recorded in reference.data_info)")
    fingerprint = protocol.fingerprint({n: e.identity for n, e in extractors.items()}, identity["sha256"])
    plan = plan_reference(protocol, registry, extractors, reference)
    return Evaluation(protocol, registry, device, context, settings, extractors, reference, identity, fingerprint,
                      plan)


def protocol_for(options: ProtocolOptions, registry: Registry) -> Protocol:
    """The protocol named by ``options`` with its ``--set protocol.*`` overrides and without its
    ``--drop-metrics``; other ``--set`` keys are refused."""
    model, recipe, overrides = split_settings(options.settings)
    if model or recipe:
        key = next(iter(model or {f"train.{k}": v for k, v in recipe.items()}))
        raise ProtocolError(f"--set {key}: only protocol.* overrides apply here (there is no model to set)")
    return drop_metrics(override_protocol(registry.protocol(options.protocol), overrides), options.drop_metrics)
