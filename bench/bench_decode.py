"""Decoding a captioned image set (COCO, folders): one thread against one per core.

Writes N photo-sized JPEGs (640×480 smooth colour fields with noise, quality 90: COCO's size and
compression) to a temporary folder, then decodes and fits them to the protocol size the way
``load_captioned_files`` does, with 1 thread and with ``--workers`` (default: one per core). The
outputs are checked to be identical; the times and the speed-up are printed.

    python bench/bench_decode.py --num-images 1000 --size 256
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from genbench.datasets.captioned import decode_images


def write_photos(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """``count`` 640×480 JPEGs: bilinear-upsampled random colour fields plus pixel noise."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        field = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize((640, 480), Image.BILINEAR)
        noisy = np.clip(np.asarray(field, dtype=np.int16) + rng.integers(-12, 13, (480, 640, 3)), 0, 255)
        paths.append(folder / f"{i:06d}.jpg")
        Image.fromarray(noisy.astype(np.uint8)).save(paths[-1], quality=90)
    return paths


def timed(paths: list[Path], size: int, workers: int) -> tuple[float, list[np.ndarray]]:
    start = time.perf_counter()
    arrays = list(decode_images(paths, size, 3, workers=workers))
    return time.perf_counter() - start, arrays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-images", type=int, default=1000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_photos(Path(tmp), args.num_images)
        timed(paths[:20], args.size, 1)  # warm the page cache and PIL's codecs
        serial_s, serial = timed(paths, args.size, 1)
        threaded_s, threaded = timed(paths, args.size, args.workers)
    assert all(np.array_equal(a, b) for a, b in zip(serial, threaded)), "threaded decoding changed pixels"
    print(f"{args.num_images} JPEGs 640x480 -> {args.size}x{args.size}: 1 thread {serial_s:.2f} s "
          f"({1000 * serial_s / args.num_images:.2f} ms/image), {args.workers} threads {threaded_s:.2f} s "
          f"({1000 * threaded_s / args.num_images:.2f} ms/image), speed-up {serial_s / threaded_s:.2f}x; "
          f"identical pixels")


if __name__ == "__main__":
    main()
