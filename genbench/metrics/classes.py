"""Metrics of class-conditional generation: class accuracy and intra-class Fréchet distance.

``class_accuracy`` is the share of generated images that the protocol's pinned classifier assigns to
the class they were asked for (argmax of its logits), with the per-class table in ``extras``.
``intra_fd`` is the intra-class FID of Miyato & Koyama (2018) as StudioGAN reports it ("IFID"): for
every class, the Fréchet distance between the generated images asked for that class and the
reference images of that class, averaged over classes. Each class's distance is genbench's FID code
(``genbench.metrics.fidelity``), so each needs more samples of the class than feature dimensions in
both sets; a class with fewer is refused before any work, never averaged in.
"""

from __future__ import annotations

import dataclasses

import torch

from genbench.errors import MetricError
from genbench.metrics.base import MetricInputs, MetricPlan, MetricSpec, MetricValue
from genbench.metrics.checks import enough_samples, finite_features
from genbench.metrics.fidelity import check_covariance, fid_from_inputs, pair


def needed_labels(metric: str, labels: torch.Tensor | None, num_classes: int | None) -> tuple[torch.Tensor, int]:
    """The class each generated image was asked for and the class count; a run without them is an error."""
    if labels is None or not num_classes:
        raise MetricError(f"{metric}: needs the class each image was asked for (a class-conditional protocol, or "
                          f"samples scored with their labels)")
    return labels.long(), int(num_classes)


def per_class_counts(labels: torch.Tensor, num_classes: int) -> list[int]:
    return torch.bincount(labels, minlength=num_classes).tolist()


def check_class_accuracy(plan: MetricPlan) -> None:
    """Labels, one sample at least, and as many classifier outputs as the data set has classes."""
    _, num_classes = needed_labels("class_accuracy", plan.labels, plan.num_classes)
    enough_samples("class_accuracy", "generated", plan.num_generated, 1, "a share needs one sample")
    if plan.feature_dim and plan.feature_dim != num_classes:
        raise MetricError(f"class_accuracy: feature '{plan.settings['feature']}' has {plan.feature_dim} outputs, the "
                          f"data set {num_classes} classes; it must be a classifier's logits over those classes")


def class_accuracy_from_inputs(inputs: MetricInputs) -> MetricValue:
    """Share of images whose argmax logit is the class they were asked for; std over classes, per-class table."""
    logits = finite_features("class_accuracy", "generated", inputs.generated[inputs.settings["feature"]])
    check_class_accuracy(MetricPlan.of(inputs))
    labels, num_classes = needed_labels("class_accuracy", inputs.labels, inputs.num_classes)
    correct = logits.argmax(dim=1) == labels
    samples = per_class_counts(labels, num_classes)
    hits = per_class_counts(labels[correct], num_classes)
    table = [{"class": c, "samples": n, "correct": h, "accuracy": h / n if n else None}
             for c, (n, h) in enumerate(zip(samples, hits))]
    shares = torch.tensor([row["accuracy"] for row in table if row["accuracy"] is not None], dtype=torch.float64)
    return MetricValue(value=float(correct.double().mean()), std=float(shares.std(unbiased=False)),
                       extras={"chance": 1.0 / num_classes, "per_class": table})


def check_intra_fd(plan: MetricPlan) -> None:
    """Every class needs enough generated and reference samples for its own Fréchet distance."""
    labels, num_classes = needed_labels("intra_fd", plan.labels, plan.num_classes)
    if plan.reference_labels is None:
        raise MetricError("intra_fd: needs the class of every reference image (a labelled reference set)")
    generated = per_class_counts(labels, num_classes)
    reference = per_class_counts(plan.reference_labels.long(), num_classes)
    for c in range(num_classes):
        check_covariance(f"intra_fd, class {c}", dataclasses.replace(plan, num_generated=generated[c],
                                                                      num_reference=reference[c]))


def intra_fd_from_inputs(inputs: MetricInputs) -> MetricValue:
    """The mean over classes of each class's Fréchet distance; std over classes, per-class table."""
    generated, reference = pair("intra_fd", inputs)
    check_intra_fd(MetricPlan.of(inputs))
    labels, num_classes = needed_labels("intra_fd", inputs.labels, inputs.num_classes)
    reference_labels = inputs.reference_labels.long()
    feature = inputs.settings["feature"]
    table = []
    for c in range(num_classes):
        ours, theirs = generated[labels == c], reference[reference_labels == c]
        distance = fid_from_inputs(MetricInputs({feature: ours}, {feature: theirs}, inputs.settings)).value
        table.append({"class": c, "generated": len(ours), "reference": len(theirs), "fd": distance})
    distances = torch.tensor([row["fd"] for row in table], dtype=torch.float64)
    return MetricValue(value=float(distances.mean()), std=float(distances.std(unbiased=False)),
                       extras={"per_class": table})


CLASS_ACCURACY = MetricSpec(
    name="class_accuracy",
    description="share of images a pinned classifier assigns to the class they were asked for, per-class table",
    compute=class_accuracy_from_inputs,
    check=check_class_accuracy,
    higher_is_better=True,
    needs_labels=True,
)
INTRA_FD = MetricSpec(
    name="intra_fd",
    description="intra-class FID (StudioGAN's IFID): the mean over classes of each class's Fréchet distance",
    compute=intra_fd_from_inputs,
    check=check_intra_fd,
    higher_is_better=False,
    needs_reference=True,
    needs_labels=True,
    #: Resampling rows changes each class's count and repeats rows inside a class: no bootstrap interval.
    resamplable=False,
    defaults={"allow_singular_covariance": False},
)
