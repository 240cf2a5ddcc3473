"""The harness's conversion of images made in another geometry: clean-fid's resize, PIL's grey, named in the
result and, where lossy, in the fingerprint."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from genbench.errors import PluginError
from genbench.evaluation.conversion import RESIZE, TO_GREY, TO_RGB, plan_conversion
from genbench.models.base import ImageFormat

IMAGES = torch.randint(0, 256, (3, 3, 40, 40), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


def clean_fid_resize(image: torch.Tensor, size: int) -> np.ndarray:
    """clean-fid's own resizer (PIL bicubic on each channel in float), rounded to uint8, HWC."""
    from cleanfid.resize import make_resizer

    resized = make_resizer("PIL", False, "bicubic", (size, size))(image.permute(1, 2, 0).numpy())
    return np.round(resized).astype(np.uint8)


@pytest.mark.parametrize("size", [16, 32, 64])
def test_a_resize_is_clean_fids_rounded_once(size):
    converted = plan_conversion(ImageFormat(40, 3), ImageFormat(size, 3), "plugin 'toy'").apply(IMAGES)
    assert converted.shape == (3, 3, size, size) and converted.dtype == torch.uint8
    for image, ours in zip(IMAGES, converted):
        assert np.array_equal(ours.permute(1, 2, 0).numpy(), clean_fid_resize(image, size))


def test_rgb_becomes_pils_grey_after_the_resize():
    converted = plan_conversion(ImageFormat(40, 3), ImageFormat(20, 1), "plugin 'toy'").apply(IMAGES)
    for image, ours in zip(IMAGES, converted):
        grey = Image.fromarray(clean_fid_resize(image, 20)).convert("L")
        assert np.array_equal(ours[0].numpy(), np.asarray(grey))


def test_grey_is_repeated_to_rgb():
    grey = IMAGES[:, :1]
    assert torch.equal(plan_conversion(ImageFormat(40, 1), ImageFormat(40, 3), "p").apply(grey), grey.repeat(1, 3, 1, 1))


def test_what_was_done_is_described_and_lossy_steps_change_the_fingerprint():
    same = plan_conversion(ImageFormat(32, 3), ImageFormat(32, 3), "p")
    assert same.steps == [] and same.describe() is None and same.fingerprint("f" * 16) == "f" * 16
    assert same.apply(IMAGES) is IMAGES
    grey_to_rgb = plan_conversion(ImageFormat(32, 1), ImageFormat(32, 3), "p")
    assert grey_to_rgb.steps == [TO_RGB] and grey_to_rgb.fingerprint("f" * 16) == "f" * 16  # nothing is lost
    resized = plan_conversion(ImageFormat(64, 3), ImageFormat(32, 1), "p")
    assert resized.describe() == {"from": {"size": 64, "channels": 3}, "to": {"size": 32, "channels": 1},
                                  "steps": [RESIZE, TO_GREY]}
    fingerprints = {resized.fingerprint("f" * 16), plan_conversion(ImageFormat(64, 3), ImageFormat(32, 3), "p")
                    .fingerprint("f" * 16), "f" * 16}
    assert len(fingerprints) == 3 and all(len(f) == 16 for f in fingerprints)
    assert plan_conversion(ImageFormat(128, 3), ImageFormat(32, 3), "p").fingerprint("f" * 16) == \
        plan_conversion(ImageFormat(64, 3), ImageFormat(32, 3), "p").fingerprint("f" * 16)  # the filter, not the size


def test_channel_counts_other_than_grey_and_rgb_are_refused():
    with pytest.raises(PluginError, match=r"^plugin 'toy' makes 4-channel images and the protocol evaluates "
                                          r"3-channel ones; genbench converts only between grey and RGB$"):
        plan_conversion(ImageFormat(32, 4), ImageFormat(32, 3), "plugin 'toy'")
