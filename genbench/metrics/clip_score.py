"""CLIP score: how well each image matches the caption it was generated from, in CLIP space.

``w · max(cos(image_i, text_i), 0)`` averaged over images, with ``w = 100`` in the torchmetrics
convention and ``w = 2.5`` in Hessel et al. (2021); ``mlperf`` is MLPerf Inference's text-to-image
accuracy check (``tools/clip/clip_encoder.py``, ``accuracy_coco.py``): ``100 · cos`` with no clamp at 0.
The result names which. The cosine comes from the ``clip`` extractor's unit-norm open_clip embeddings,
renormalised in float64.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from genbench.errors import MetricError
from genbench.metrics.base import MetricInputs, MetricSpec, MetricValue
from genbench.metrics.checks import enough_samples, finite_features

#: Definition name -> (weight w, lowest cosine counted, how the result describes it).
DEFINITIONS = {
    "torchmetrics": (100.0, 0.0, "100·max(cos, 0) (torchmetrics CLIPScore convention)"),
    "hessel": (2.5, 0.0, "2.5·max(cos, 0) (Hessel et al. 2021, CLIPScore)"),
    "mlperf": (100.0, None, "100·cos, no clamp (MLPerf Inference text-to-image accuracy check)"),
}


def clip_cosines(image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """Row-wise cosine of image and caption embeddings, in float64."""
    return F.cosine_similarity(image.double(), text.double(), dim=1)


def clip_score_from_inputs(inputs: MetricInputs) -> MetricValue:
    settings = inputs.settings
    definition = settings["definition"]
    if definition not in DEFINITIONS:
        raise MetricError(f"clip_score: unknown definition '{definition}' (known: {', '.join(DEFINITIONS)})")
    if settings["text_feature"] not in inputs.generated:
        raise MetricError("clip_score: the images came without captions, so there is nothing to score them against")
    image = finite_features("clip_score", "image", inputs.generated[settings["feature"]])
    text = finite_features("clip_score", "caption", inputs.generated[settings["text_feature"]])
    enough_samples("clip_score", "generated", len(image), 1, "a mean needs one sample")
    weight, floor, described = DEFINITIONS[definition]
    cosine = clip_cosines(image, text)
    scores = weight * (cosine if floor is None else cosine.clamp(min=floor))
    truncated = inputs.generated.get("caption_truncated")
    return MetricValue(
        value=float(scores.mean()),
        std=float(scores.std(unbiased=False)),
        extras={
            "definition": definition,
            "formula": described,
            "weight": weight,
            "raw_cosine_mean": float(cosine.mean()),
            "truncated_captions": int(truncated.sum()) if truncated is not None else 0,
        },
    )


CLIP_SCORE = MetricSpec(
    name="clip_score",
    value_range=(0.0, None),
    description="CLIP score of each image against its own caption (open_clip), higher is better",
    compute=clip_score_from_inputs,
    higher_is_better=True,
    defaults={"definition": "torchmetrics", "text_feature": "text"},
)
