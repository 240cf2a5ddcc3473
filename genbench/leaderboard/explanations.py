"""What a number on a run page means, in a sentence or two: the features, the estimator, the spread or interval.

Written from the result record alone (metric kind, settings, extras, interval, the extractor's
description), so reported rows and runs of third-party metrics get what their record supports.
"""

from __future__ import annotations

from typing import Any

#: Metric kind -> what it computes (``{space}`` is the feature space it was computed in).
DEFINITIONS = {
    "fid": "Fréchet distance between Gaussians fitted to the generated and reference {space} (torch-fidelity)",
    "fd": "Fréchet distance between Gaussians fitted to the generated and reference {space} (FID's code)",
    "clean_fid": "Fréchet distance as clean-fid computes it, on {space}",
    "fid_infinity": "FD∞ (Chong & Forsyth 2020): the Fréchet distance on {space} of growing subsets of the "
                    "generated set, extrapolated linearly in 1/N to infinitely many samples",
    "kid": "KID: unbiased MMD² with the cubic polynomial kernel on {space}, averaged over random subsets",
    "clean_kid": "KID as clean-fid computes it, on {space}",
    "cmmd": "CMMD (Jayasumana et al. 2024): 1000 × MMD² with a Gaussian RBF kernel (σ = 10) on {space}",
    "isc": "Inception Score: exp of the mean KL divergence between p(y|x) and p(y), from {space}",
    "precision": "improved precision (Kynkäänniemi et al.): share of generated samples inside the reference "
                 "k-NN manifold of {space}",
    "recall": "improved recall: share of reference samples inside the generated k-NN manifold of {space}",
    "density": "density (Naeem et al. 2020): how many reference k-NN balls of {space} hold each generated "
               "sample, over k, averaged; about 1 when the sets match",
    "coverage": "coverage (Naeem et al. 2020): share of reference k-NN balls of {space} holding at least one "
                "generated sample",
    "vendi": "Vendi score: the effective number of distinct samples, exp of the entropy of the eigenvalues of "
             "the cosine-similarity kernel of {space}",
    "clip_score": "CLIP score of each image against its own caption, from {space}",
    "caption_diversity": "mean pairwise cosine distance among images of one caption, on {space}",
    "classifier_confidence": "mean max-softmax probability of a reference classifier ({space})",
    "class_accuracy": "share of generated images that a reference classifier ({space}) assigns to the class they "
                      "were asked for; the per-class table is below",
    "intra_fd": "intra-class FID (StudioGAN's IFID): for each class, the Fréchet distance between its generated "
                "and reference {space}, averaged over classes; the per-class table is below",
}
#: Metric kind -> what its ± means.
SPREADS = {
    "kid": "± is the standard deviation over the subsets",
    "isc": "± is the standard deviation over the splits",
    "clip_score": "± is the standard deviation over images",
    "classifier_confidence": "± is the standard deviation over images",
    "caption_diversity": "± is the standard deviation over captions",
    "vendi": "± is the standard deviation over captions",
    "class_accuracy": "± is the standard deviation of the per-class accuracies",
    "intra_fd": "± is the standard deviation of the per-class distances",
}


def feature_space(metric: dict[str, Any], extractor: dict[str, Any]) -> str:
    """``DINOv2 vitl14 features (cls)``-style words for where the metric was computed."""
    kind = extractor.get("kind") or metric.get("extractor") or "?"
    detail = extractor.get("size") or extractor.get("model") or extractor.get("network") or ""
    return f"{kind}{' ' + str(detail) if detail else ''} features ({metric.get('feature')})"


def explain(metric: dict[str, Any], extractor: dict[str, Any]) -> str:
    """Definition, estimator and the meaning of the spread or interval of one metric of a result record."""
    kind = metric.get("metric")
    if not metric.get("extractor"):
        return "as reported by its source; genbench did not compute it"
    sentences = [DEFINITIONS.get(kind, f"metric '{kind}'").format(space=feature_space(metric, extractor)) + "."]
    extras = metric.get("extras") or {}
    if extras.get("estimator"):
        sentences.append(f"Estimator: {extras['estimator']}.")
    if metric.get("std") is not None and kind in SPREADS:
        sentences.append(SPREADS[kind].capitalize() + ".")
    interval = metric.get("interval") or {}
    if interval:
        sentences.append(f"[low, high] is a {100 * interval['level']:g} % bootstrap interval over "
                         f"{interval['rounds']} resamplings (with replacement) of the generated and reference "
                         f"features, seed {interval['seed']}: the rounds' spread centred on the value"
                         + (f" (their mean was {interval['bias']:+.3g} off it, removed)." if "bias" in interval
                            else "."))
    return " ".join(sentences)
