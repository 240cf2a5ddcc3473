"""The inception extractor's ``spatial`` feature (sFID's mixed_6/conv values) and why its flattening order matters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from imagesets import make_images
from torch_fidelity.metric_fid import fid_features_to_statistics

from genbench.errors import ProtocolError
from genbench.extractors.base import ExtractorContext
from genbench.extractors.inception import build_inception_extractor
from genbench.extractors.inception_spatial import hwc_rows
from genbench.metrics.adm_frechet import evaluator_frechet_distance


def context(weights_dir: Path) -> ExtractorContext:
    return ExtractorContext(torch.device("cpu"), weights_dir, True, Path("unused"), None)


def test_spatial_is_mixed_6d_first_seven_channels_flattened_height_width_channel(inception_weights):
    """Built by hand from torch-fidelity's NCHW output of the whole Mixed_6d block: channels 0-6 of its concat
    are branch1x1's (TF's mixed_6/conv), and value (h, w, c) sits at (h·17 + w)·7 + c, as in TF's NHWC."""
    extractor = build_inception_extractor({"features": ["2048", "spatial"]}, context(inception_weights))
    blocks = []
    handle = extractor.network.Mixed_6d.register_forward_hook(lambda m, i, output: blocks.append(output.clone()))
    images = make_images(seed=11, count=2, size=40)
    try:
        features = extractor.extract(images)
    finally:
        handle.remove()
    mixed_6d = blocks[0].double()
    assert tuple(mixed_6d.shape) == (2, 768, 17, 17)
    spatial = features["spatial"]
    assert spatial.dtype == torch.float64 and tuple(spatial.shape) == (2, 17 * 17 * 7) == (2, 2023)
    for n, h, w, c in ((0, 0, 0, 0), (0, 0, 0, 6), (1, 0, 1, 0), (1, 5, 11, 3), (0, 16, 16, 6), (1, 16, 0, 2)):
        assert spatial[n, (h * 17 + w) * 7 + c] == mixed_6d[n, c, h, w]
    assert torch.equal(spatial, mixed_6d[:, :7].permute(0, 2, 3, 1).reshape(2, -1))
    assert not torch.equal(spatial, mixed_6d[:, :7].reshape(2, -1))  # NCHW order differs (ReLU maps are not flat)
    pool_only = build_inception_extractor({"features": ["2048"]}, context(inception_weights)).extract(images)
    assert torch.equal(features["2048"], pool_only["2048"])
    alone = build_inception_extractor({"features": ["spatial"]}, context(inception_weights))
    assert list(alone.extract(images)) == ["spatial"] and torch.equal(alone.extract(images)["spatial"], spatial)
    assert "mixed_6/conv" in extractor.describe()["spatial"]


def test_an_unknown_feature_still_names_spatial_among_the_known_ones(inception_weights):
    with pytest.raises(ProtocolError, match=r"has no feature 'mixed_6' \(features: 64, 192, 768, 2048, "
                                            r"logits_unbiased, logits, spatial\)$"):
        build_inception_extractor({"features": ["mixed_6"]}, context(inception_weights))


def spatial_maps(seed: int, count: int) -> torch.Tensor:
    """ReLU'd ``[N, 9, 5, 4]`` maps whose channels differ in level and whose rows vary smoothly: a small
    stand-in for mixed_6/conv, with the same reason for its order to matter."""
    generator = torch.Generator().manual_seed(seed)
    level = torch.linspace(0.0, 3.0, 9)[None, :, None, None]
    ramp = torch.linspace(-1.0, 1.0, 5)[None, None, :, None]
    noise = torch.randn(count, 9, 5, 4, generator=generator, dtype=torch.float64)
    return (level + ramp * torch.randn(count, 1, 1, 1, generator=generator, dtype=torch.float64) + noise).relu()


def test_reading_published_statistics_in_the_wrong_flattening_order_changes_sfid():
    """``mu_s``/``sigma_s`` published in HWC order: generated rows in HWC give a near-zero sFID against them,
    the same rows flattened CHW a large one. With both sides in one order the distance is the same either way
    (a permutation of coordinates moves nothing), so only a mismatch shows."""
    published = fid_features_to_statistics(hwc_rows(spatial_maps(0, 600)))
    generated = spatial_maps(1, 600)
    right, _ = evaluator_frechet_distance("sfid", fid_features_to_statistics(hwc_rows(generated)), published)
    wrong, _ = evaluator_frechet_distance("sfid", fid_features_to_statistics(generated[:, :7].flatten(1)), published)
    assert wrong > 10 * right  # right: only the finite-sample bias of 600 rows in 140 dimensions
    both_chw, _ = evaluator_frechet_distance("sfid", fid_features_to_statistics(generated[:, :7].flatten(1)),
                                             fid_features_to_statistics(spatial_maps(0, 600)[:, :7].flatten(1)))
    assert both_chw == pytest.approx(right, rel=1e-9)
    assert np.asarray(published["mu"]).shape == (5 * 4 * 7,)
