"""The metric contract: features of generated (and reference) images in, a number with its spread out."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
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
    #: The reference set's published ``{"mu", "sigma"}`` (float64) in the metric's feature space, given instead
    #: of ``reference`` to a metric whose spec has ``statistics``.
    reference_statistics: dict[str, np.ndarray] | None = None
    #: The class of each reference row (class-conditional protocols: per-class metrics such as intra-class FD).
    reference_labels: torch.Tensor | None = None


@dataclass(frozen=True)
class MetricPlan:
    """What a metric will be given, known before anything trains or samples; a spec's ``check`` reads it.

    The runner builds it from the protocol (sample count after ``--set`` overrides), the reference
    set's size and labels, the run's class plan and the width of the extractor's feature rows;
    ``compute`` may build it from the real features (``MetricPlan.of``) so that both ask the same question.
    """

    num_generated: int
    #: Reference rows the metric compares against (None when it reads no reference, or published statistics).
    num_reference: int | None
    #: Width of the metric's feature rows.
    feature_dim: int
    settings: dict[str, Any]
    #: Per-image caption group, as ``MetricInputs.groups``.
    groups: torch.Tensor | None = None
    #: The class each generated image is asked for, as ``MetricInputs.labels``, and the class count.
    labels: torch.Tensor | None = None
    num_classes: int | None = None
    #: The class of each reference row, as ``MetricInputs.reference_labels``.
    reference_labels: torch.Tensor | None = None

    @classmethod
    def of(cls, inputs: "MetricInputs") -> "MetricPlan":
        """The plan the real inputs fulfil."""
        generated = inputs.generated[inputs.settings["feature"]]
        reference = inputs.reference[inputs.settings["feature"]] if inputs.reference is not None else None
        return cls(len(generated), len(reference) if reference is not None else None, int(generated.shape[1]),
                   inputs.settings, inputs.groups, inputs.labels, inputs.num_classes, inputs.reference_labels)


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
    #: Whether it reads the class each image was asked for (``MetricInputs.labels``): samples scored without
    #: their classes are refused only on a protocol with such a metric.
    needs_labels: bool = False
    #: Whether a bootstrap (rows resampled with replacement) may estimate its interval. False for metrics
    #: built on k-nearest-neighbour radii (precision, recall, density, coverage): duplicated rows shrink
    #: the radii to zero and bias the metric, so the interval could miss the point estimate itself.
    resamplable: bool = True
    #: Settings and their defaults; a protocol may override them (they enter the fingerprint).
    defaults: dict[str, Any] = field(default_factory=dict)
    #: Raises ``MetricError`` when the metric cannot be computed from what the plan describes (too few
    #: samples for a covariance, a KID subset larger than a set); the runner calls it before training.
    check: Callable[[MetricPlan], None] | None = None
    #: Whether the reference side may be given as published statistics (``MetricInputs.reference_statistics``:
    #: a mean and a covariance) instead of features: true of the Fréchet distances, false of every metric that
    #: needs the reference rows themselves (KID, precision and recall, density and coverage).
    statistics: bool = False
    #: The values the metric can take (None: unbounded on that side); a value outside is never recorded or shown.
    value_range: tuple[float | None, float | None] = (None, None)

    def value_problem(self, value: Any) -> str | None:
        """Why ``value`` cannot be this metric's value (not a finite number, outside its range), or None."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"is {value!r}, not a finite number"
        low, high = self.value_range
        if (low is not None and value < low) or (high is not None and value > high):
            return f"is {value:g}, outside the range of metric '{self.name}' ({describe_range(self.value_range)})"
        return None


def describe_range(value_range: tuple[float | None, float | None]) -> str:
    """``0 or more``, ``0 to 1``, ``any``: a metric's range in words."""
    low, high = value_range
    if low is None and high is None:
        return "any"
    if high is None:
        return f"{low:g} or more"
    return f"{high:g} or less" if low is None else f"{low:g} to {high:g}"
