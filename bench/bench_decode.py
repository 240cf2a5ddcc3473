"""Decoding a captioned image set (COCO, folders): one thread against one per core, and memory.

Writes N photo-sized JPEGs (640×480 smooth colour fields with noise, quality 90: COCO's size and
compression) to a temporary folder, then decodes and fits them to the protocol size the way
``load_captioned_files`` does, with 1 thread and with ``--workers`` (default: one per core). The
outputs are checked to be identical; the times and the speed-up are printed. Then the folder is
loaded as a captioned data set and read in feature-pass chunks, and the growth of the process's
peak memory is printed: first for that (what a run does), then for decoding it all at once (this
part runs first, as a process's peak memory only grows).

    python bench/bench_decode.py --num-images 1000 --size 256
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from genbench.datasets.base import DataRequest
from genbench.datasets.captioned import decode_images
from genbench.datasets.captioned_folder import load_captioned_folder


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


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_of_a_run(folder: Path, paths: list[Path], size: int, chunk: int = 250) -> None:
    """Peak-memory growth of loading the set and reading it chunk by chunk, then of ``pixels()``."""
    lines = [json.dumps({"image": p.name, "caption": f"image {i}"}) for i, p in enumerate(paths)]
    (folder / "test.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = peak_mib()
    start = time.perf_counter()
    data = load_captioned_folder(DataRequest("test", size, 3, root=folder))
    loaded_s = time.perf_counter() - start
    for first in range(0, len(data), chunk):
        int(data.images[first:first + chunk].max())  # the decoded chunk is what the feature pass holds
    streamed = peak_mib() - before
    pixels = data.pixels()
    print(f"load (decodes each image once to find failures) {loaded_s:.2f} s; peak memory growth: "
          f"chunks of {chunk} {streamed:.0f} MiB, all decoded at once {peak_mib() - before:.0f} MiB "
          f"(the uint8 set alone is {pixels.numel() / 2 ** 20:.0f} MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-images", type=int, default=1000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_photos(Path(tmp), args.num_images)
        timed(paths[:20], args.size, 1)  # warm the page cache and PIL's codecs
        memory_of_a_run(Path(tmp), paths, args.size)  # first: peak memory only grows
        serial_s, serial = timed(paths, args.size, 1)
        threaded_s, threaded = timed(paths, args.size, args.workers)
    assert all(np.array_equal(a, b) for a, b in zip(serial, threaded)), "threaded decoding changed pixels"
    print(f"{args.num_images} JPEGs 640x480 -> {args.size}x{args.size}: 1 thread {serial_s:.2f} s "
          f"({1000 * serial_s / args.num_images:.2f} ms/image), {args.workers} threads {threaded_s:.2f} s "
          f"({1000 * threaded_s / args.num_images:.2f} ms/image), speed-up {serial_s / threaded_s:.2f}x; "
          f"identical pixels")


if __name__ == "__main__":
    main()
