"""Classifier confidence (seed 002): how sure a reference classifier is about generated images.

Mean max-softmax probability, the share above a threshold, a histogram of confidences, the
predicted-class distribution and the mean confidence per predicted class.
"""

from __future__ import annotations

import torch

from genbench.metrics.base import MetricInputs, MetricSpec, MetricValue
from genbench.metrics.checks import enough_samples, finite_features


def confidence_from_inputs(inputs: MetricInputs) -> MetricValue:
    logits = finite_features("classifier_confidence", "generated", inputs.generated[inputs.settings["feature"]])
    enough_samples("classifier_confidence", "generated", len(logits), 1, "a mean needs one sample")
    threshold = float(inputs.settings["threshold"])
    bins = int(inputs.settings["bins"])
    probs = logits.softmax(dim=1)
    confidence, predicted = probs.max(dim=1)
    num_classes = logits.shape[1]
    counts = torch.bincount(predicted, minlength=num_classes)
    sums = torch.zeros(num_classes, dtype=torch.float64).index_add_(0, predicted, confidence)
    per_class = [float(s / c) if c else None for s, c in zip(sums, counts)]
    histogram = torch.histc(confidence, bins=bins, min=0.0, max=1.0)
    return MetricValue(
        value=float(confidence.mean()),
        std=float(confidence.std(unbiased=False)),
        extras={
            "share_above_threshold": float((confidence > threshold).double().mean()),
            "threshold": threshold,
            "histogram": {"edges": torch.linspace(0, 1, bins + 1).tolist(), "counts": histogram.long().tolist()},
            "predicted_class_counts": counts.tolist(),
            "mean_confidence_per_predicted_class": per_class,
        },
    )


CLASSIFIER_CONFIDENCE = MetricSpec(
    name="classifier_confidence",
    value_range=(0.0, 1.0),
    description="mean max-softmax of a reference classifier on generated images, share above a threshold",
    compute=confidence_from_inputs,
    higher_is_better=True,
    defaults={"threshold": 0.8, "bins": 10},
)
