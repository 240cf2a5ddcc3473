"""Digests that count distinct samples: exact integer sums, the same in any batch, apart for any changed pixel."""

from __future__ import annotations

import hashlib

import torch

from genbench.trust.digests import CHUNK_VALUES, digest_weights, distinct_count, image_digests, weight_bits


def test_equal_images_have_equal_digests_in_any_batch_and_chunk(monkeypatch):
    images = torch.randint(0, 256, (37, 3, 16, 16), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    together = image_digests(images)
    one_by_one = torch.cat([image_digests(image[None]) for image in images])
    monkeypatch.setattr("genbench.trust.digests.CHUNK_VALUES", 3 * 16 * 16 * 5)  # five images a chunk
    chunked = image_digests(images.flip(0)).flip(0)
    assert torch.equal(together, one_by_one) and torch.equal(together, chunked)
    assert distinct_count(together) == 37
    assert distinct_count(image_digests(torch.cat([images, images[:5]]))) == 37


def test_one_level_in_one_pixel_changes_the_digest_of_the_largest_image():
    image = torch.full((1, 3, 1024, 1024), 255, dtype=torch.uint8)  # the largest sums of this size
    other = image.clone()
    other[0, 2, 1023, 1023] = 254
    assert image_digests(image).item() != image_digests(other).item()
    bits = weight_bits(3 * 1024 * 1024)
    assert 255 * (2 ** bits - 1) * 3 * 1024 * 1024 < 2 ** 53  # every partial sum is an exact float64 integer
    assert digest_weights(3 * 1024 * 1024, torch.device("cpu")).max().item() < 2 ** bits


def test_the_sums_are_exact_integers_equal_to_integer_arithmetic():
    images = torch.randint(0, 256, (6, 3, 64, 64), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    weights = digest_weights(3 * 64 * 64, torch.device("cpu")).long()
    exact = images.reshape(6, -1).long() @ weights  # int64 arithmetic, no rounding anywhere
    expected = [int.from_bytes(hashlib.sha256(row.double().numpy().tobytes()).digest()[:8], "big", signed=True)
                for row in exact]
    assert image_digests(images).tolist() == expected
    assert CHUNK_VALUES >= 3 * 64 * 64


def test_pixels_moved_within_an_image_change_its_digest():
    image = torch.arange(256, dtype=torch.uint8).reshape(1, 1, 16, 16)
    assert image_digests(image).item() != image_digests(image.transpose(2, 3)).item()
    assert image_digests(torch.empty(0, 1, 16, 16, dtype=torch.uint8)).shape == (0,)
