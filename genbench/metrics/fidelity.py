"""FID, KID, Inception Score and precision/recall from features, computed by torch-fidelity's own functions.

genbench feeds them float64 features (whatever extractor produced them: Inception, a domain
classifier, CLIP), so the same functions give Fréchet distance / KID / IS in any feature
space. Guards run first: a rank-deficient covariance or a KID subset larger than a set is an
error, not a number. FID's matrix square root takes genbench's exact Cholesky route
(``genbench.metrics.frechet_distance``), equal to torch-fidelity's value and several times faster;
KID's subsets are computed several at a time by torch-fidelity's ``kernel_mmd``
(``genbench.metrics.kid_subsets``), its numbers bit for bit.
"""

from __future__ import annotations

import numpy as np
import torch

from genbench.errors import MetricError
from genbench.metrics.base import MetricInputs, MetricPlan, MetricSpec, MetricValue
from genbench.metrics.blas import one_blas_thread
from genbench.metrics.checks import enough_samples, finite_features
from genbench.metrics.frechet_distance import frechet_distance
from genbench.metrics.kid_subsets import kid_mean_std
from genbench.metrics.memo import LastResult


def pair(metric: str, inputs: MetricInputs):
    """The metric's feature of the generated and reference sets, float64, NaN-free."""
    feature = inputs.settings["feature"]
    generated = finite_features(metric, "generated", inputs.generated[feature])
    reference = finite_features(metric, "reference", inputs.reference[feature])
    return generated, reference


def check_covariance(metric: str, plan: MetricPlan) -> None:
    """Two samples per set at least; more than the feature dimension unless a singular covariance is allowed (a
    reference given as published statistics, ``num_reference`` None, brings its covariance with it)."""
    sets = [("generated", plan.num_generated)] + ([("reference", plan.num_reference)]
                                                  if plan.num_reference is not None else [])
    if not plan.settings.get("allow_singular_covariance", False):
        why = f"a full-rank covariance of {plan.feature_dim}-d features needs more samples than dimensions"
        for name, count in sets:
            enough_samples(metric, name, count, plan.feature_dim + 1, why)
    for name, count in sets:
        enough_samples(metric, name, count, 2, "a covariance needs two samples")


def check_fid(plan: MetricPlan) -> None:
    check_covariance("fid", plan)


def check_kid_subsets(metric: str, plan: MetricPlan) -> None:
    """KID draws subsets of ``subset_size`` rows from each set without replacement."""
    size = plan.settings["subset_size"]
    why = f"KID draws subsets of {size} without replacement"
    enough_samples(metric, "generated", plan.num_generated, size, why)
    enough_samples(metric, "reference", plan.num_reference, size, why)


def check_kid(plan: MetricPlan) -> None:
    check_kid_subsets("kid", plan)


def check_isc(plan: MetricPlan) -> None:
    splits = plan.settings["splits"]
    if isinstance(splits, bool) or not isinstance(splits, int) or splits < 1:
        raise MetricError(f"splits must be a whole number of at least 1, got {splits!r}")
    enough_samples("isc", "generated", plan.num_generated, 2 * splits, f"{splits} splits need two samples each")


def check_prc(plan: MetricPlan) -> None:
    k = plan.settings["neighborhood"]
    why = f"each sample's radius is the distance to its {k}-th nearest neighbour in its own set"
    enough_samples("prc", "generated", plan.num_generated, k + 1, why)
    enough_samples("prc", "reference", plan.num_reference, k + 1, why)


#: The reference set's statistics last computed: ``fid_infinity``'s subsets share one reference covariance.
_reference_statistics: LastResult[dict] = LastResult()


def gaussians(metric: str, inputs: MetricInputs) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Float64 ``{"mu", "sigma"}`` of the generated features (torch-fidelity's ``fid_features_to_statistics``) and
    of the reference: its published statistics when the inputs carry them, else the same fit of its features."""
    from torch_fidelity.metric_fid import fid_features_to_statistics

    feature = inputs.settings["feature"]
    published = inputs.reference_statistics
    generated = finite_features(metric, "generated", inputs.generated[feature])
    reference = finite_features(metric, "reference", inputs.reference[feature]) if published is None else None
    check_covariance(metric, MetricPlan.of(inputs))
    if published is not None and published["mu"].shape != (generated.shape[1],):
        raise MetricError(f"{metric}: the reference statistics have {published['mu'].shape[0]} values per mean, the "
                          f"generated '{feature}' features {generated.shape[1]} (statistics of another feature space)")
    if published is None:
        published = _reference_statistics.get([inputs.reference[feature]], None,
                                              lambda: fid_features_to_statistics(reference))
    return fid_features_to_statistics(generated), published


def fid_from_inputs(inputs: MetricInputs) -> MetricValue:
    """Fréchet distance between Gaussian fits of generated and reference features (or published statistics)."""
    with one_blas_thread():
        return MetricValue(value=frechet_distance(*gaussians("fid", inputs)))


def kid_from_inputs(inputs: MetricInputs) -> MetricValue:
    """Unbiased MMD² with the cubic polynomial kernel, mean ± std over random subsets (torch-fidelity's numbers,
    its subsets computed several at a time: ``genbench.metrics.kid_subsets``)."""
    generated, reference = pair("kid", inputs)
    check_kid(MetricPlan.of(inputs))
    settings = inputs.settings
    mean, std = kid_mean_std(generated, reference, subsets=settings["subsets"], subset_size=settings["subset_size"],
                             degree=settings["degree"], coef0=settings["coef0"], rng_seed=settings["rng_seed"],
                             workers=torch.get_num_threads())
    return MetricValue(value=mean, std=std)


def isc_from_inputs(inputs: MetricInputs) -> MetricValue:
    """exp(E KL(p(y|x) || p(y))) from logits, mean ± std over splits."""
    from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD, isc_features_to_metric

    logits = finite_features("isc", "generated", inputs.generated[inputs.settings["feature"]])
    check_isc(MetricPlan.of(inputs))
    out = isc_features_to_metric(logits, splits=inputs.settings["splits"], shuffle=True,
                                 rng_seed=inputs.settings["rng_seed"])
    return MetricValue(value=out[KEY_METRIC_ISC_MEAN], std=out[KEY_METRIC_ISC_STD])


#: The last precision/recall computed: a protocol asking for both metrics pays the pairwise distances (three N×N
#: ``cdist``) once.
_precision_recall: LastResult[dict] = LastResult()


def precision_recall(inputs: MetricInputs) -> dict[str, float]:
    """k-NN precision, recall and F-score (Kynkäänniemi et al.) from torch-fidelity's own function."""
    from torch_fidelity.metric_prc import prc_features_to_metric

    feature, k, batch_size = inputs.settings["feature"], inputs.settings["neighborhood"], inputs.settings["batch_size"]

    def compute() -> dict[str, float]:
        generated, reference = pair("prc", inputs)
        check_prc(MetricPlan.of(inputs))
        return prc_features_to_metric(generated, reference, prc_neighborhood=k,
                                      prc_batch_size=batch_size, save_cpu_ram=False, verbose=False)

    tensors = (inputs.generated[feature], inputs.reference[feature])
    return dict(_precision_recall.get(tensors, (k, batch_size), compute))


def precision_from_inputs(inputs: MetricInputs) -> MetricValue:
    """Share of generated samples inside the reference set's k-NN manifold."""
    from torch_fidelity.metric_prc import KEY_METRIC_F_SCORE, KEY_METRIC_PRECISION

    out = precision_recall(inputs)
    return MetricValue(value=out[KEY_METRIC_PRECISION], extras={"f_score": out[KEY_METRIC_F_SCORE]})


def recall_from_inputs(inputs: MetricInputs) -> MetricValue:
    """Share of reference samples inside the generated set's k-NN manifold."""
    from torch_fidelity.metric_prc import KEY_METRIC_F_SCORE, KEY_METRIC_RECALL

    out = precision_recall(inputs)
    return MetricValue(value=out[KEY_METRIC_RECALL], extras={"f_score": out[KEY_METRIC_F_SCORE]})


FID = MetricSpec(
    name="fid",
    value_range=(0.0, None),
    description="Fréchet distance of feature Gaussians (torch-fidelity), lower is better",
    compute=fid_from_inputs,
    check=check_fid,
    higher_is_better=False,
    needs_reference=True,
    defaults={"allow_singular_covariance": False},
    statistics=True,
)
KID = MetricSpec(
    name="kid",
    description="Kernel Inception Distance, unbiased MMD² over subsets (torch-fidelity), lower is better",
    compute=kid_from_inputs,
    check=check_kid,
    higher_is_better=False,
    needs_reference=True,
    defaults={"subset_size": 1000, "subsets": 100, "degree": 3, "coef0": 1.0, "rng_seed": 2020},
)
ISC = MetricSpec(
    name="isc",
    value_range=(0.0, None),
    description="Inception Score from class logits (torch-fidelity), higher is better",
    compute=isc_from_inputs,
    check=check_isc,
    higher_is_better=True,
    defaults={"splits": 10, "rng_seed": 2020},
)
PRC_DEFAULTS = {"neighborhood": 3, "batch_size": 10000}
PRECISION = MetricSpec(
    name="precision",
    value_range=(0.0, 1.0),
    description="improved precision: generated samples within the reference k-NN manifold (torch-fidelity prc)",
    compute=precision_from_inputs,
    check=check_prc,
    higher_is_better=True,
    needs_reference=True,
    resamplable=False,
    defaults=PRC_DEFAULTS,
)
RECALL = MetricSpec(
    name="recall",
    value_range=(0.0, 1.0),
    description="improved recall: reference samples within the generated k-NN manifold (torch-fidelity prc)",
    compute=recall_from_inputs,
    check=check_prc,
    higher_is_better=True,
    needs_reference=True,
    resamplable=False,
    defaults=PRC_DEFAULTS,
)
