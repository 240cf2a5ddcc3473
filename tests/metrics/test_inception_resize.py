"""flowers64-kid's Inception at 75x75: a bilinear pre-resize, then torch-fidelity's own 299x299 pass."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from imagesets import make_images

from genbench.errors import ProtocolError
from genbench.extractors.base import ExtractorContext
from genbench.extractors.inception import build_inception_extractor


def _context(weights_dir):
    return ExtractorContext(torch.device("cpu"), weights_dir, True, None, None)


def test_resize_setting_resizes_before_the_network(inception_weights):
    images = make_images(seed=3, count=3, size=64)
    resized = build_inception_extractor({"features": ["64"], "resize": 75}, _context(inception_weights))
    plain = build_inception_extractor({"features": ["64"]}, _context(inception_weights))
    by_hand = F.interpolate(images.float(), size=(75, 75), mode="bilinear", align_corners=False)
    by_hand = by_hand.round().clamp(0, 255).to(torch.uint8)
    assert torch.equal(resized.extract(images)["64"], plain.extract(by_hand)["64"])
    assert not torch.equal(resized.extract(images)["64"], plain.extract(images)["64"])
    assert resized.describe()["resize"].startswith("first bilinear to 75x75 (align_corners=False, no antialias")


def test_resize_must_be_a_positive_integer(inception_weights):
    with pytest.raises(ProtocolError, match=r"^extractor kind 'inception' setting 'resize' must be a positive "
                                            r"integer, got 'big'$"):
        build_inception_extractor({"resize": "big"}, _context(inception_weights))
