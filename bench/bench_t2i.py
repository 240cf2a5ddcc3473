"""Size and speed of the text-to-image plugins at their default configs (seed 004's table 3.3).

For each plugin: parameters in all (networks + the frozen CLIP towers used) and trained, and
seconds per 128x128 image when sampling one caption at a time after a warm-up. Without
``--weights-dir`` the frozen CLIP ViT-B/32 gets random weights written to a temporary weights
directory: counts and timings do not depend on the weight values, and nothing is downloaded.

    .venv/bin/python bench/bench_t2i.py [--plugins ldm galip dfgan] [--images 2] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

#: Seed 004, table 3.3 (Colab V100/A100): all / trained parameters, seconds per image.
SEED_004 = {"ldm": ("~89 M", "~24 M", "5"), "galip": ("~320 M", "~160 M", "1")}
CAPTIONS = ["a village in the mountains in spring", "red and yellow flowers", "a large number of cows in the field",
            "girl with dog", "only one horse in the forest", "small blue bird"]


def random_clip_weights(directory: Path) -> None:
    """Random ViT-B/32 weights under the file name the weights directory lookup expects."""
    import open_clip
    from safetensors.torch import save_file

    from genbench.extractors.open_clip_models import DEFAULT_MODEL, DEFAULT_PRETRAINED, clip_weights_source

    model = open_clip.create_model(DEFAULT_MODEL)
    name = clip_weights_source(DEFAULT_MODEL, DEFAULT_PRETRAINED).filename
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(directory / name))


def seconds_per_image(model, images: int, device: torch.device) -> float:
    """Mean wall time of ``images`` batch-1 samples after one warm-up sample."""
    from genbench.models.base import SampleBatch

    def one(index: int) -> None:
        model.sample(SampleBatch([index], device, captions=[CAPTIONS[index % len(CAPTIONS)]]))
        if device.type == "cuda":
            torch.cuda.synchronize()

    one(0)
    start = time.perf_counter()
    for index in range(1, images + 1):
        one(index)
    return (time.perf_counter() - start) / images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", nargs="+", default=["ldm", "galip", "dfgan"])
    parser.add_argument("--images", type=int, default=2, help="timed images per plugin (batch 1)")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--weights-dir", type=Path, help="holds open_clip-ViT-B-32-openai.safetensors")
    args = parser.parse_args()

    from genbench.models.base import ImageFormat
    from genbench.registry import load_registry

    device = torch.device(args.device)
    began = time.perf_counter()
    temporary = None
    if args.weights_dir is None:
        temporary = tempfile.TemporaryDirectory()
        random_clip_weights(Path(temporary.name))
    os.environ["GENBENCH_WEIGHTS"] = str(args.weights_dir or temporary.name)
    registry = load_registry()
    print(f"CLIP weights ready after {time.perf_counter() - began:.0f} s")
    print(f"device {device}, {torch.get_num_threads()} threads, {args.size}x{args.size} images, batch 1")
    print(f"{'plugin':8} {'all params':>12} {'trained':>12} {'evals/img':>9} {'s/image':>9}   seed 004 (all / trained / s)")
    for name in args.plugins:
        spec = registry.model(name).item
        model = spec.model_class.create(ImageFormat(args.size, 3), dict(spec.default_config)).to(device).eval()
        if name == "ldm":
            model.config["latent_scale"] = 1.0  # untrained autoencoder: the value does not change the timing
        counts = model.parameter_counts()
        seconds = seconds_per_image(model, args.images, device)
        reported = " / ".join(SEED_004.get(name, ("-", "-", "-")))
        print(f"{name:8} {counts['all']:>12,} {counts['trainable']:>12,} {model.network_evaluations:>9} "
              f"{seconds:>9.3f}   {reported}")


if __name__ == "__main__":
    main()
