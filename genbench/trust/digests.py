"""Per-image digests that count the distinct samples of a run, computed where the images are.

An image's digest starts as four dot products of its uint8 pixels with fixed pseudo-random integer
weights, taken in float64 on the sampling device, so a GPU run never copies its images to the CPU
for them. The weights lie below 2**k with k = 44 - ceil(log2 P) for P values an image, so every
partial sum is an integer below 2**52: float64 holds it exactly, and the sums are the same on any
device, in any batch and in any summation order. Two different images agree in one product with
probability at most 2**-k over the weights, in all four with at most 2**-4k (2**-100 for 256² RGB
images). The four sums, 32 bytes an image, are then folded into one int64 by SHA-256, whose
2**-64 per pair is the digest's collision rate.
"""

from __future__ import annotations

import functools
import hashlib
import math

import torch

#: Dot products per image.
PRODUCTS = 4
#: Seed of the weights: fixed, so a run's digests do not depend on where or when it ran.
WEIGHT_SEED = 20261201
#: Pixel values converted to float64 at a time (64 MiB), whatever the batch and image size.
CHUNK_VALUES = 2 ** 23
#: Format of the digests kept in a run's shards; shards of another format are not resumed.
FORMAT = "exact-integer-products-v1"


def weight_bits(values_per_image: int) -> int:
    """Bits of each weight that keep 255 · weight · values below 2**52 (exact in float64)."""
    return 44 - math.ceil(math.log2(max(values_per_image, 2)))


@functools.lru_cache(maxsize=4)
def digest_weights(values_per_image: int, device: torch.device) -> torch.Tensor:
    """The ``[values, PRODUCTS]`` float64 weights for images of ``values_per_image`` pixel values, on ``device``."""
    generator = torch.Generator().manual_seed(WEIGHT_SEED)
    weights = torch.randint(0, 2 ** weight_bits(values_per_image), (values_per_image, PRODUCTS),
                            generator=generator, dtype=torch.int64)
    return weights.to(device=device, dtype=torch.float64)


def image_digests(images: torch.Tensor) -> torch.Tensor:
    """One int64 per uint8 image ``[N, C, H, W]``, on the CPU: equal images, equal digests (on any device)."""
    if len(images) == 0:
        return torch.empty(0, dtype=torch.int64)
    if images.device.type == "mps":  # Apple GPUs have no float64
        images = images.cpu()
    flat = images.reshape(len(images), -1)
    weights = digest_weights(flat.shape[1], images.device)
    chunk = max(1, CHUNK_VALUES // flat.shape[1])
    sums = torch.cat([flat[i:i + chunk].double() @ weights for i in range(0, len(flat), chunk)]).cpu()
    return torch.tensor([int.from_bytes(hashlib.sha256(row.numpy().tobytes()).digest()[:8], "big", signed=True)
                         for row in sums], dtype=torch.int64)


def distinct_count(digests: torch.Tensor) -> int:
    """How many different images the digests stand for."""
    return int(torch.unique(digests).numel())
