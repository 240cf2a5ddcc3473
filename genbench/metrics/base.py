"""The metric contract: features of generated (and reference) images in, a number with its spread out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch


@dataclass
class MetricInputs:
    """Everything a metric may read: one extractor's features, never images or models."""

    generated: dict[str, torch.Tensor]
    reference: dict[str, torch.Tensor] | None
    settings: dict[str, Any]
    labels: torch.Tensor | None = None
    num_classes: int | None = None
    #: Per-image caption group (images with equal captions share one id), for text-to-image runs.
    groups: torch.Tensor | None = None


@dataclass
class MetricValue:
    """A metric's value, its spread where it has one, and extras (histograms, class counts)."""

    value: float
    std: float | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    #: A confidence interval (``low``, ``high``, ``level``, how it was made), e.g. from the bootstrap.
    interval: dict[str, Any] | None = None


@dataclass(frozen=True)
class MetricSpec:
    """What a plugin's ``genbench_metrics`` hook returns for each metric it provides."""

    name: str
    description: str
    compute: Callable[[MetricInputs], MetricValue]
    higher_is_better: bool
    needs_reference: bool = False
    #: Settings and their defaults; a protocol may override them (they enter the fingerprint).
    defaults: dict[str, Any] = field(default_factory=dict)
