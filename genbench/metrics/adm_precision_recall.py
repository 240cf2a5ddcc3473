"""Precision and recall as the ADM evaluator's ``ManifoldEstimator`` computes them, float16 distances included.

The definition is Kynkäänniemi et al.'s (that of genbench's ``precision``/``recall``): a sample's radius is
the squared distance to its k-th nearest other sample of its own set (k = 3; the evaluator takes index k of
the sorted row, the sample itself at 0), precision is the share of generated samples within some reference
radius (``<=``), recall the share of reference samples within some generated radius. The evaluator's
``DistanceBlock`` computes each block of ``row_batch_size`` × ``col_batch_size`` squared distances as
max(|u|² − 2 u·v + |v|², 0) after casting the features to float16, and the whole block again in float32 when
any float16 value is not finite. ``distances = "float16"`` reproduces that arithmetic: every value rounded to
float16 as the graph's float16 ops round it (products and sums accumulated in float32, as its GPU kernels do);
rounded distances tie with rounded radii more often, so they admit more samples than exact distances do.
``distances = "float64"`` computes the same formula in float64: the definition without the rounding.
"""

from __future__ import annotations

import functools

import torch

from genbench.errors import MetricError
from genbench.metrics.base import MetricInputs, MetricPlan, MetricSpec, MetricValue
from genbench.metrics.checks import enough_samples
from genbench.metrics.fidelity import pair
from genbench.metrics.memo import LastResult

#: ``ManifoldEstimator(row_batch_size=10000, col_batch_size=10000, nhood_sizes=(3,))``.
EVALUATOR_BATCH = 10000
EVALUATOR_NEIGHBORHOOD = 3
DISTANCES = ("float16", "float64")


def blocks(count: int, size: int) -> list[slice]:
    """Consecutive slices of ``size`` rows (the last one shorter), as the evaluator's batch loops cut them."""
    return [slice(start, min(start + size, count)) for start in range(0, count, size)]


def _half(values: torch.Tensor) -> torch.Tensor:
    """float32 values rounded to float16 (round to nearest even), kept in float32."""
    return values.half().float()


def _expansion(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """max(|u|² − 2 u·v + |v|², 0) for every row pair, in the inputs' dtype (the evaluator's formula and order)."""
    return ((u * u).sum(dim=1)[:, None] - 2 * (u @ v.T) + (v * v).sum(dim=1)[None, :]).clamp_min(0)


def _float16_expansion(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The same formula with every op's result rounded to float16, as the evaluator's float16 graph computes it."""
    u, v = _half(u.float()), _half(v.float())  # tf.cast(float32 features, tf.float16)
    norm_u = _half(_half(u * u).sum(dim=1))  # tf.square, then tf.reduce_sum
    norm_v = _half(_half(v * v).sum(dim=1))
    twice = _half(2 * _half(u @ v.T))  # float16 matmul (float32 accumulation), then 2 *
    return _half(_half(norm_u[:, None] - twice) + norm_v[None, :]).clamp_min(0)


def squared_distances(u: torch.Tensor, v: torch.Tensor, distances: str) -> torch.Tensor:
    """One block of squared distances: the evaluator's float16 (float32 where float16 overflows), or float64."""
    if distances == "float64":
        return _expansion(u.double(), v.double())
    block = _float16_expansion(u, v)
    return block if torch.isfinite(block).all() else _expansion(u.float(), v.float())


def manifold_radii(features: torch.Tensor, k: int, rows: int, cols: int, distances: str) -> torch.Tensor:
    """Squared distance from each row to its k-th nearest other row, block by block as ``manifold_radii``."""
    radii = []
    for row_block in blocks(len(features), rows):
        nearest = [squared_distances(features[row_block], features[col_block], distances)
                   .topk(min(k + 1, col_block.stop - col_block.start), dim=1, largest=False).values
                   for col_block in blocks(len(features), cols)]
        radii.append(torch.cat(nearest, dim=1).kthvalue(k + 1, dim=1).values)
    return torch.cat(radii)


def evaluate_pr(reference: torch.Tensor, generated: torch.Tensor, k: int, rows: int, cols: int,
                distances: str) -> tuple[float, float]:
    """(precision, recall) as ``evaluate_pr``: reference blocks of ``rows`` against generated blocks of ``cols``."""
    radii_reference = manifold_radii(reference, k, rows, cols, distances)
    radii_generated = manifold_radii(generated, k, rows, cols, distances)
    reference_in = torch.zeros(len(reference), dtype=torch.bool)
    generated_in = torch.zeros(len(generated), dtype=torch.bool)
    for row_block in blocks(len(reference), rows):
        for col_block in blocks(len(generated), cols):
            block = squared_distances(reference[row_block], generated[col_block], distances)
            reference_in[row_block] |= (block <= radii_generated[col_block][None, :]).any(dim=1)
            generated_in[col_block] |= (block <= radii_reference[row_block][:, None]).any(dim=0)
    return generated_in.double().mean().item(), reference_in.double().mean().item()


def check_adm_precision_recall(metric: str, plan: MetricPlan) -> None:
    """Settings the estimator understands, and k + 1 samples per set for every radius."""
    settings = plan.settings
    if settings["distances"] not in DISTANCES:
        raise MetricError(f"{metric}: distances must be one of {', '.join(DISTANCES)}, got {settings['distances']!r}")
    for name in ("neighborhood", "row_batch_size", "col_batch_size"):
        value = settings[name]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise MetricError(f"{metric}: {name} must be a positive integer, got {value!r}")
    k = settings["neighborhood"]
    why = f"each sample's radius is the distance to its {k}-th nearest neighbour in its own set"
    enough_samples(metric, "generated", plan.num_generated, k + 1, why)
    enough_samples(metric, "reference", plan.num_reference, k + 1, why)


#: The last (precision, recall): ``adm_precision`` and ``adm_recall`` of one protocol share one estimator pass.
_last: LastResult[tuple[float, float]] = LastResult()


def adm_precision_recall(metric: str, inputs: MetricInputs) -> tuple[float, float]:
    """(precision, recall) of the generated against the reference features, computed once for both metrics."""
    settings = inputs.settings
    key = tuple(settings[name] for name in ("neighborhood", "row_batch_size", "col_batch_size", "distances"))

    def compute() -> tuple[float, float]:
        generated, reference = pair(metric, inputs)
        check_adm_precision_recall(metric, MetricPlan.of(inputs))
        return evaluate_pr(reference, generated, *key)

    return _last.get((inputs.generated[settings["feature"]], inputs.reference[settings["feature"]]), key, compute)


def adm_precision_from_inputs(inputs: MetricInputs) -> MetricValue:
    return MetricValue(value=adm_precision_recall("adm_precision", inputs)[0])


def adm_recall_from_inputs(inputs: MetricInputs) -> MetricValue:
    return MetricValue(value=adm_precision_recall("adm_recall", inputs)[1])


ADM_PR_DEFAULTS = {"neighborhood": EVALUATOR_NEIGHBORHOOD, "row_batch_size": EVALUATOR_BATCH,
                   "col_batch_size": EVALUATOR_BATCH, "distances": "float16"}
ADM_PRECISION = MetricSpec(
    name="adm_precision",
    value_range=(0.0, 1.0),
    description="precision as the ADM evaluator computes it: generated samples within the reference k-NN "
                "manifold (k = 3), its float16 squared distances in 10 000 x 10 000 blocks",
    compute=adm_precision_from_inputs,
    check=functools.partial(check_adm_precision_recall, "adm_precision"),
    higher_is_better=True,
    needs_reference=True,
    resamplable=False,
    defaults=ADM_PR_DEFAULTS,
)
ADM_RECALL = MetricSpec(
    name="adm_recall",
    value_range=(0.0, 1.0),
    description="recall as the ADM evaluator computes it: reference samples within the generated k-NN "
                "manifold (k = 3), its float16 squared distances in 10 000 x 10 000 blocks",
    compute=adm_recall_from_inputs,
    check=functools.partial(check_adm_precision_recall, "adm_recall"),
    higher_is_better=True,
    needs_reference=True,
    resamplable=False,
    defaults=ADM_PR_DEFAULTS,
)
