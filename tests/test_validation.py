"""The runner's batch validation: every kind of bad batch stops the run naming the plugin and hook."""

from __future__ import annotations

import pytest
import torch

from genbench.errors import PluginError
from genbench.models.base import ImageFormat
from genbench.runner.plugin_calls import validate_batch

FORMAT = ImageFormat(size=16, channels=1)


def good(n: int = 4) -> torch.Tensor:
    return torch.zeros(n, 1, 16, 16, dtype=torch.uint8)


@pytest.mark.parametrize("images, message", [
    ([1, 2, 3], "plugin 'toy' sample() returned list, expected a torch.Tensor"),
    (torch.zeros(4, 1, 16, 16), "plugin 'toy' sample() returned dtype torch.float32 (values in [0, 0]); "
                                "expected uint8 images in 0..255"),
    (torch.full((4, 1, 16, 16), float("nan")), "plugin 'toy' sample() returned dtype torch.float32 "
                                                "(contains NaN/Inf); expected uint8 images in 0..255"),
    (torch.zeros(4, 1, 16, 16, dtype=torch.int64), "plugin 'toy' sample() returned dtype torch.int64; "
                                                   "expected uint8 images in 0..255"),
    (torch.zeros(4, 16, 16, dtype=torch.uint8), "plugin 'toy' sample() returned shape (4, 16, 16); "
                                                "expected [N, C, H, W]"),
    (good(3), "plugin 'toy' sample() returned 3 images; 4 were asked for"),
    (torch.zeros(4, 3, 16, 16, dtype=torch.uint8), "plugin 'toy' sample() returned 3 channels; "
                                                   "the protocol needs 1"),
    (torch.zeros(4, 1, 28, 28, dtype=torch.uint8), "plugin 'toy' sample() returned 28x28 images; "
                                                   "the protocol needs 16x16"),
])
def test_bad_batches_are_named(images, message):
    with pytest.raises(PluginError) as error:
        validate_batch(images, 4, FORMAT, "toy")
    assert str(error.value) == message


def test_a_good_batch_passes_through_unchanged():
    images = good()
    assert validate_batch(images, 4, FORMAT, "toy") is images
