"""The ADM evaluator's formulas in NumPy, transcribed for the tests from openai/guided-diffusion's
``evaluations/evaluator.py``: ``FIDStatistics.frechet_distance``, ``Evaluator.compute_statistics``,
``Evaluator.compute_inception_score`` and ``ManifoldEstimator`` (``manifold_radii``, ``evaluate_pr``).

Its TensorFlow parts are replaced by NumPy: the softmax of ``pool_3 @ W`` by a softmax of given logits, the
``DistanceBlock`` by ``pairwise_distances`` below (the graph's formula, in float64 or in the graph's float16
with its float32 fallback). Written from the evaluator's definitions, not from genbench's code.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """``FIDStatistics.frechet_distance``; returns (value, whether the epsilon branch ran)."""
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    assert mu1.shape == mu2.shape and sigma1.shape == sigma2.shape
    diff = mu1 - mu2
    # scipy >= 1.16 deprecates disp=False; without it sqrtm returns the same matrix alone.
    covmean = linalg.sqrtm(sigma1.dot(sigma2))
    fell_back = not np.isfinite(covmean).all()
    if fell_back:
        warnings.warn("fid calculation produces singular product; adding %s to diagonal of cov estimates" % eps)
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            m = np.max(np.abs(covmean.imag))
            raise ValueError("Imaginary component {}".format(m))
        covmean = covmean.real
    tr_covmean = np.trace(covmean)
    return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean, fell_back


def compute_statistics(activations):
    """``Evaluator.compute_statistics``: (mu, sigma)."""
    return np.mean(activations, axis=0), np.cov(activations, rowvar=False)


def softmax(logits):
    """What ``_create_softmax_graph`` computes from logits (``tf.nn.softmax``)."""
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def compute_inception_score(preds, split_size=5000):
    """``Evaluator.compute_inception_score`` after its softmax: splits of ``split_size`` in order."""
    scores = []
    for i in range(0, len(preds), split_size):
        part = preds[i : i + split_size]
        kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
        kl = np.mean(np.sum(kl, 1))
        scores.append(np.exp(kl))
    return float(np.mean(scores))


def _graph_distances(U, V, dtype):
    """``_batch_pairwise_distances`` with every tensor in ``dtype``; float16 products and sums accumulate in
    float32 and are rounded to float16, as the graph's float16 matmul and reduce_sum do."""
    if dtype == np.float16:
        norm_u = np.square(U).astype(np.float32).sum(1).astype(np.float16)
        norm_v = np.square(V).astype(np.float32).sum(1).astype(np.float16)
        product = (U.astype(np.float32) @ V.astype(np.float32).T).astype(np.float16)
    else:
        norm_u, norm_v, product = np.sum(np.square(U), 1), np.sum(np.square(V), 1), U @ V.T
    norm_u = np.reshape(norm_u, [-1, 1])
    norm_v = np.reshape(norm_v, [1, -1])
    return np.maximum(norm_u - dtype(2) * product + norm_v, dtype(0))


def pairwise_distances(U, V, arithmetic="float64"):
    """``DistanceBlock.pairwise_distances``: float16 unless a value is not finite, then float32 (``float16``);
    or the same formula in float64 (``float64``). Returned as float32 (float64 for ``float64``) like the block."""
    if arithmetic == "float64":
        return _graph_distances(U.astype(np.float64), V.astype(np.float64), np.float64)
    U32, V32 = U.astype(np.float32), V.astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):  # float16 overflow gives inf (or inf - inf), as in the graph
        block_16 = _graph_distances(U32.astype(np.float16), V32.astype(np.float16), np.float16)
    if np.isfinite(block_16).all():
        return block_16.astype(np.float32)
    return _graph_distances(U32, V32, np.float32)


class ManifoldEstimator:
    """``ManifoldEstimator`` with ``clamp_to_percentile=None``; ``_numpy_partition`` is ``np.partition``
    (the evaluator only splits its rows over threads)."""

    def __init__(self, row_batch_size=10000, col_batch_size=10000, nhood_sizes=(3,), arithmetic="float64"):
        self.row_batch_size = row_batch_size
        self.col_batch_size = col_batch_size
        self.nhood_sizes = nhood_sizes
        self.num_nhoods = len(nhood_sizes)
        self.dtype = np.float64 if arithmetic == "float64" else np.float32
        self.pairwise_distances = lambda U, V: pairwise_distances(U, V, arithmetic)

    def manifold_radii(self, features):
        num_images = len(features)
        radii = np.zeros([num_images, self.num_nhoods], dtype=self.dtype)
        distance_batch = np.zeros([self.row_batch_size, num_images], dtype=self.dtype)
        seq = np.arange(max(self.nhood_sizes) + 1, dtype=np.int32)
        for begin1 in range(0, num_images, self.row_batch_size):
            end1 = min(begin1 + self.row_batch_size, num_images)
            row_batch = features[begin1:end1]
            for begin2 in range(0, num_images, self.col_batch_size):
                end2 = min(begin2 + self.col_batch_size, num_images)
                col_batch = features[begin2:end2]
                distance_batch[0 : end1 - begin1, begin2:end2] = self.pairwise_distances(row_batch, col_batch)
            partitioned = np.partition(distance_batch[0 : end1 - begin1, :], seq, axis=1)
            radii[begin1:end1, :] = partitioned[:, self.nhood_sizes]
        return radii

    def evaluate_pr(self, features_1, radii_1, features_2, radii_2):
        """(precision, recall) arrays; features_1 is the reference batch."""
        features_1_status = np.zeros([len(features_1), radii_2.shape[1]], dtype=bool)
        features_2_status = np.zeros([len(features_2), radii_1.shape[1]], dtype=bool)
        for begin_1 in range(0, len(features_1), self.row_batch_size):
            end_1 = begin_1 + self.row_batch_size
            batch_1 = features_1[begin_1:end_1]
            for begin_2 in range(0, len(features_2), self.col_batch_size):
                end_2 = begin_2 + self.col_batch_size
                batch_2 = features_2[begin_2:end_2]
                dist = self.pairwise_distances(batch_1, batch_2)[..., None]
                batch_1_in = np.any(dist <= radii_2[begin_2:end_2], axis=1)
                batch_2_in = np.any(dist <= radii_1[begin_1:end_1][:, None], axis=0)
                features_1_status[begin_1:end_1] |= batch_1_in
                features_2_status[begin_2:end_2] |= batch_2_in
        return (np.mean(features_2_status.astype(np.float64), axis=0),
                np.mean(features_1_status.astype(np.float64), axis=0))


def compute_prec_recall(activations_ref, activations_sample, **estimator):
    """``Evaluator.compute_prec_recall``: (precision, recall)."""
    manifold = ManifoldEstimator(**estimator)
    radii_1 = manifold.manifold_radii(activations_ref)
    radii_2 = manifold.manifold_radii(activations_sample)
    pr = manifold.evaluate_pr(activations_ref, radii_1, activations_sample, radii_2)
    return float(pr[0][0]), float(pr[1][0])
