"""Metrics computed from features: torch-fidelity's own functions plus what no library has."""

from genbench.metrics.base import MetricInputs, MetricSpec, MetricValue

__all__ = ["MetricInputs", "MetricSpec", "MetricValue"]
