"""Inception Score as the ADM evaluator computes it: contiguous splits of 5 000 samples, in sample order.

The evaluator's ``compute_inception_score`` takes the softmax of pool_3 times the weights of
``softmax/logits/MatMul`` (no bias: torch-fidelity's ``logits_unbiased``, 1 008 classes), cuts the samples
in their order into splits of ``split_size`` = 5 000 (the last one shorter when the count is not a multiple),
scores each split exp(mean KL(p(y|x) ‖ p(y))) and averages the splits. Each split's score is torch-fidelity's
``isc_features_to_metric`` on that split alone (one split, no shuffle: float64, log-softmax); genbench's
``isc`` instead shuffles the samples (seed 2020) and cuts them into ``splits`` equal parts.
"""

from __future__ import annotations

import numpy as np

from genbench.errors import MetricError
from genbench.metrics.base import MetricInputs, MetricPlan, MetricSpec, MetricValue
from genbench.metrics.checks import enough_samples, finite_features

#: ``Evaluator.compute_inception_score(activations, split_size=5000)``.
EVALUATOR_SPLIT_SIZE = 5000


def check_adm_isc(plan: MetricPlan) -> None:
    """One full split at least: fewer samples than ``split_size`` would score a different, smaller split."""
    size = plan.settings["split_size"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 2:
        raise MetricError(f"adm_isc: split_size must be an integer of at least 2 (one sample scores 1), got {size!r}")
    enough_samples("adm_isc", "generated", plan.num_generated, size, f"the evaluator scores splits of {size} samples")


def adm_isc_from_inputs(inputs: MetricInputs) -> MetricValue:
    """Mean over contiguous ``split_size`` splits of exp(E KL(p(y|x) ‖ p(y))), from unbiased logits."""
    from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, isc_features_to_metric

    logits = finite_features("adm_isc", "generated", inputs.generated[inputs.settings["feature"]])
    check_adm_isc(MetricPlan.of(inputs))
    splits = logits.split(int(inputs.settings["split_size"]))
    scores = [isc_features_to_metric(split, splits=1, shuffle=False)[KEY_METRIC_ISC_MEAN] for split in splits]
    return MetricValue(value=float(np.mean(scores)), extras={"split_scores": scores,
                                                             "split_sizes": [len(split) for split in splits]})


ADM_ISC = MetricSpec(
    name="adm_isc",
    value_range=(0.0, None),
    description="Inception Score as the ADM evaluator computes it: mean over contiguous splits of 5 000 samples "
                "in sample order (no shuffle), from unbiased logits",
    compute=adm_isc_from_inputs,
    check=check_adm_isc,
    higher_is_better=True,
    defaults={"split_size": EVALUATOR_SPLIT_SIZE},
)
