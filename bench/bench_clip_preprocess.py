"""CLIP image preprocessing: open_clip's own PIL pipeline (genbench's default) against the tensor path.

Builds ViT-B-32 at random initialisation (no download: speed does not depend on the weights),
then times, for uint8 batches at each ``--sizes``: preprocessing alone in both modes, and the
whole image embedding (preprocess + ``encode_image``) in both modes. Also prints how far the two
modes' embeddings are apart (max |cos_pil - cos_tensor| against a fixed random text direction).

    OMP_NUM_THREADS=1 python bench/bench_clip_preprocess.py --sizes 128,256 --batch 50 --device cpu
"""

from __future__ import annotations

import argparse
import os
import time

import open_clip
import torch

from genbench.extractors.open_clip_models import ClipModel


def timed(fn, repeats: int, device: torch.device) -> float:
    """Median seconds of ``repeats`` calls after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="128,256")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32", force_quick_gelu=True, device=device).eval()
    clip = ClipModel(model, open_clip.get_tokenizer("ViT-B-32"), "ViT-B-32", "random", "", device)
    direction = torch.nn.functional.normalize(torch.randn(512, device=device), dim=0)
    print(f"device {device}, batch {args.batch}, load average {os.getloadavg()[0]:.2f}, "
          f"torch threads {torch.get_num_threads()}")
    print("| image size | preprocess pil (s) | preprocess tensor (s) | embed pil (s) | embed tensor (s) | "
          "max cos gap |")
    print("| --- | --- | --- | --- | --- | --- |")
    for size in (int(s) for s in args.sizes.split(",")):
        images = torch.randint(0, 256, (args.batch, 3, size, size), dtype=torch.uint8,
                               generator=torch.Generator().manual_seed(size))
        row = [timed(lambda m=m: clip.preprocess(images, m), args.repeats, device) for m in ("pil", "tensor")]
        row += [timed(lambda m=m: clip.encode_images(images, m), args.repeats, device) for m in ("pil", "tensor")]
        gap = (clip.encode_images(images, "pil") @ direction - clip.encode_images(images, "tensor") @ direction)
        print(f"| {size} | " + " | ".join(f"{t:.4f}" for t in row) + f" | {gap.abs().max():.2e} |")


if __name__ == "__main__":
    main()
