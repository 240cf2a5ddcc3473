"""Class accuracy and intra-class FD equal their definitions computed directly, and refuse what they cannot measure."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_features_to_statistics, fid_statistics_to_metric

from genbench.errors import MetricError
from genbench.metrics.base import MetricInputs, MetricPlan
from genbench.metrics.bootstrap import metric_setting_names
from genbench.metrics.classes import CLASS_ACCURACY, INTRA_FD

CLASSES = 4


def numpy_frechet(a: np.ndarray, b: np.ndarray) -> float:
    """The Fréchet distance of two Gaussian fits, written out with scipy's matrix square root."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    sigma_a, sigma_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(sigma_a @ sigma_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(sigma_a) + np.trace(sigma_b) - 2 * np.trace(root))


def labelled_features(rng: np.random.Generator, per_class: list[int], dim: int, shift: float) -> tuple:
    """Rows of ``dim``-d features, class c's drawn around its own mean, and their labels."""
    rows = [rng.standard_normal((n, dim)) * (1 + 0.1 * c) + c + shift for c, n in enumerate(per_class)]
    labels = np.concatenate([np.full(n, c) for c, n in enumerate(per_class)])
    order = rng.permutation(len(labels))  # classes interleaved, as a run's plan leaves them
    return np.concatenate(rows)[order], labels[order]


def intra_inputs(generated, labels, reference, reference_labels, **settings) -> MetricInputs:
    return MetricInputs({"f": torch.from_numpy(generated)}, {"f": torch.from_numpy(reference)},
                        {**INTRA_FD.defaults, **settings, "feature": "f"}, torch.from_numpy(labels), CLASSES,
                        reference_labels=torch.from_numpy(reference_labels))


def test_class_accuracy_is_the_share_whose_argmax_is_the_asked_class():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((203, CLASSES))
    labels = rng.integers(0, CLASSES, 203)
    logits[np.arange(0, 203, 3), labels[::3]] += 4.0  # a third surely right, the rest by chance
    value = CLASS_ACCURACY.compute(MetricInputs({"logits": torch.from_numpy(logits)}, None, {"feature": "logits"},
                                                torch.from_numpy(labels), CLASSES))
    right = logits.argmax(1) == labels
    assert value.value == float(right.mean())
    table = value.extras["per_class"]
    assert [row["samples"] for row in table] == np.bincount(labels, minlength=CLASSES).tolist()
    assert [row["correct"] for row in table] == np.bincount(labels[right], minlength=CLASSES).tolist()
    shares = np.array([row["accuracy"] for row in table])
    assert shares == pytest.approx(np.bincount(labels[right], minlength=CLASSES) / np.bincount(labels))
    assert value.std == pytest.approx(shares.std()) and value.extras["chance"] == 1 / CLASSES


def test_intra_fd_is_the_mean_of_each_class_fd_as_torch_fidelity_and_numpy_compute_it():
    rng = np.random.default_rng(1)
    generated, labels = labelled_features(rng, [40, 50, 45, 60], 8, 0.3)
    reference, reference_labels = labelled_features(rng, [70, 30, 55, 41], 8, 0.0)
    value = INTRA_FD.compute(intra_inputs(generated, labels, reference, reference_labels))
    by_torch_fidelity, by_numpy = [], []
    for c in range(CLASSES):
        ours, theirs = generated[labels == c], reference[reference_labels == c]
        statistics = fid_features_to_statistics(torch.from_numpy(ours)), fid_features_to_statistics(torch.from_numpy(theirs))
        by_torch_fidelity.append(fid_statistics_to_metric(*statistics, False)[KEY_METRIC_FID])
        by_numpy.append(numpy_frechet(ours, theirs))
    assert value.value == pytest.approx(np.mean(by_torch_fidelity), rel=1e-9)
    assert value.value == pytest.approx(np.mean(by_numpy), rel=1e-7)
    assert value.std == pytest.approx(np.std(by_torch_fidelity), rel=1e-9)
    assert [(row["generated"], row["reference"]) for row in value.extras["per_class"]] == [
        (40, 70), (50, 30), (45, 55), (60, 41)]
    assert [row["fd"] for row in value.extras["per_class"]] == pytest.approx(by_torch_fidelity, rel=1e-9)


def test_intra_fd_refuses_a_class_with_fewer_samples_than_its_covariance_needs():
    rng = np.random.default_rng(2)
    generated, labels = labelled_features(rng, [40, 8, 45, 60], 8, 0.0)
    reference, reference_labels = labelled_features(rng, [40, 40, 40, 40], 8, 0.0)
    with pytest.raises(MetricError, match=r"^intra_fd, class 1: generated set has 8 samples, needs at least 9 "
                                          r"\(a full-rank covariance of 8-d features"):
        INTRA_FD.compute(intra_inputs(generated, labels, reference, reference_labels))
    plan = MetricPlan(153, 160, 8, {**INTRA_FD.defaults, "feature": "f"}, None, torch.from_numpy(labels), CLASSES,
                      torch.from_numpy(reference_labels))
    with pytest.raises(MetricError, match="class 1: generated set has 8 samples"):
        INTRA_FD.check(plan)  # what the runner asks before any work
    absent = np.where(labels == 3, 0, labels)
    absent[labels == 1] = 2  # class 1's 8 rows move to class 2: classes 1 and 3 now have none
    with pytest.raises(MetricError, match="class 1: generated set has 0 samples"):
        INTRA_FD.compute(intra_inputs(generated, absent, reference, reference_labels))


def test_both_refuse_a_run_without_classes_and_accuracy_a_feature_that_is_not_the_class_logits():
    plan = MetricPlan(100, 100, CLASSES, {"feature": "logits"})
    with pytest.raises(MetricError, match="needs the class each image was asked for"):
        CLASS_ACCURACY.check(plan)
    with pytest.raises(MetricError, match="needs the class each image was asked for"):
        INTRA_FD.check(plan)
    labels = torch.zeros(100, dtype=torch.long)
    with pytest.raises(MetricError, match="feature 'penultimate' has 64 outputs, the data set 4 classes"):
        CLASS_ACCURACY.check(MetricPlan(100, None, 64, {"feature": "penultimate"}, None, labels, CLASSES))
    with pytest.raises(MetricError, match="needs the class of every reference image"):
        INTRA_FD.check(MetricPlan(100, 100, 8, {"feature": "f"}, None, labels, CLASSES))


def test_intra_fd_takes_no_bootstrap():
    """Resampling would change each class's count and repeat rows within it."""
    assert "bootstrap" not in metric_setting_names(INTRA_FD)
