"""What the trust checks cost: the reference identity's pixel hash and the determinism probe.

1. Pixel hash: ``PixelHasher.add_hwc`` over N decoded 256² RGB images (what ``load_captioned_files``
   adds per image while it decodes a COCO-sized set at load), against decoding itself.
2. Determinism probe: a plugin's two probe calls (batches of 4 and 2 images) against sampling the
   protocol's images, for models built from the digits recipes (untrained: speed does not depend
   on the weights).

    python bench/bench_trust.py --num-images 2000 --plugins vae ddpm ddim
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from genbench.evaluation.conversion import Conversion
from genbench.models.base import ImageFormat
from genbench.protocols.conditions import Conditions
from genbench.registry import get_registry
from genbench.runner.plugin_calls import sample_images
from genbench.trust.hashing import PixelHasher


def bench_pixel_hash(count: int, size: int) -> None:
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(64)]
    hasher = PixelHasher()
    start = time.perf_counter()
    for i in range(count):
        hasher.add_hwc(images[i % len(images)])
    seconds = time.perf_counter() - start
    print(f"pixel hash: {count} images at {size}x{size}x3: {seconds:.3f} s, {1e3 * seconds / count:.3f} ms/image; "
          f"coco30k (30 000 images): {30_000 * seconds / count:.1f} s")


def bench_probe(plugin: str, repeats: int) -> None:
    registry = get_registry()
    protocol = registry.protocol("digits")
    spec = registry.model(plugin).item
    recipe = protocol.recipe_for(plugin) or {}
    config = {**spec.default_config, **recipe.get("config", {})}
    torch.manual_seed(0)
    model = spec.model_class.create(ImageFormat(protocol.data.image_size, protocol.data.channels), config).eval()
    image_format = ImageFormat(protocol.data.image_size, protocol.data.channels)
    n, batch = protocol.sampling.num_samples, protocol.sampling.batch_size
    device = torch.device("cpu")

    def sample(indices: list[int]) -> torch.Tensor:
        return sample_images(model, plugin, Conversion(image_format, image_format), Conditions(), 0, device, indices)

    def timed(fn) -> float:
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
        return best

    probe = timed(lambda: (sample([0, 1, 0, 1]), sample([1, 0])))
    one_batch = timed(lambda: sample(list(range(batch))))
    print(f"probe {plugin}: {probe:.3f} s for the two probe calls; one batch of {batch}: {one_batch:.3f} s; "
          f"the run's {n} images: ~{one_batch * n / batch:.2f} s; probe share {probe / (one_batch * n / batch):.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-images", type=int, default=2000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--plugins", nargs="*", default=["vae", "ddpm", "ddim"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    bench_pixel_hash(args.num_images, args.size)
    for plugin in args.plugins:
        bench_probe(plugin, args.repeats)


if __name__ == "__main__":
    main()
