"""A diffusers pipeline sampled through ``genbench run --plugin diffusers`` against the same pipeline called directly.

The direct loop calls the pipeline on the run's batches: the same captions (``shapes``: image i gets caption
i // samples_per_caption of the test split) and one generator per image seeded with genbench's seed for it, and
turns its [0, 1] floats into uint8 as the plugin does. Inside ``genbench run`` the sampling section
(``sample_and_extract``) is timed with its feature extraction and the plugin's ``sample`` calls separately
(``bench_overhead.instrumented_run``), and so are the pipeline's own ``__call__``s inside them: the section minus the
feature extraction against the direct loop (the faster of a loop before and one after the run) is the overhead by
difference, which a busy CPU's drift between two loops swamps; the section minus the feature extraction minus the
pipeline's calls is everything genbench adds (the plugin's wrapping and the harness), measured inside one run.
The run's images (``--save-samples``) are checked to be the direct loop's, pixel for pixel. Run at batch 1 and at the
protocol's batch size (``--batch-size``, which changes no image).

    python bench/bench_pipeline.py [--shape tiny|sd15] [--device cpu] [--num-samples 250] [--steps 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

import genbench
from genbench.datasets.base import DataRequest
from genbench.datasets.shapes import load_shapes_split
from genbench.evaluation.samples import load_image_folder
from genbench.models.kit import to_uint8
from genbench.registry import get_registry
from genbench.trust.seeds import sample_seed

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from bench_overhead import instrumented_run  # noqa: E402
from genbench_models.pipeline import DiffusersPipeline  # noqa: E402
from tiny_pipelines import SD15, TINY, generators, stable_diffusion  # noqa: E402

SHAPES = {"tiny": TINY, "sd15": SD15}


def direct_loop(folder: Path, captions: list[str], batch_size: int, steps: int, size: int,
                device: torch.device) -> tuple[torch.Tensor, float]:
    """The pipeline called on the run's batches with the run's generators: uint8 images and seconds."""
    from diffusers import DiffusionPipeline

    pipeline = DiffusionPipeline.from_pretrained(folder).to(device)
    pipeline.set_progress_bar_config(disable=True)

    def call(indices: range) -> torch.Tensor:
        images = pipeline(prompt=[captions[i] for i in indices], generator=generators([sample_seed(0, i)
                                                                                        for i in indices]),
                          num_inference_steps=steps, height=size, width=size, output_type="np").images
        return to_uint8(torch.from_numpy(images).permute(0, 3, 1, 2))

    call(range(min(batch_size, len(captions))))  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    parts = [call(range(b, min(b + batch_size, len(captions)))) for b in range(0, len(captions), batch_size)]
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return torch.cat(parts), time.perf_counter() - start


def compare(folder: Path, shape_name: str, num_samples: int, steps: int, batch_size: int, device: torch.device,
            scratch: Path) -> dict[str, Any]:
    """One batch size: the direct loop's seconds, the run's sections, whether the images are identical."""
    protocol = get_registry().protocol("shapes")
    per_caption = protocol.sampling.samples_per_caption
    test = load_shapes_split(DataRequest("test", protocol.data.image_size, 3, options={"test_size": 1000}))
    captions = [test.captions[(i // per_caption) % len(test.captions)] for i in range(num_samples)]
    size = SHAPES[shape_name].image_size
    direct, before_s = direct_loop(folder, captions, batch_size, steps, size, device)
    results = scratch / f"results-{batch_size}"
    from diffusers import StableDiffusionPipeline

    record, sections = instrumented_run(DiffusersPipeline, lambda: genbench.run(
        plugin="diffusers", protocol="shapes", checkpoint=folder, device=str(device), batch_size=batch_size,
        results_dir=results, quiet=True, save_samples=True,
        settings={"steps": str(steps), "height": str(size), "width": str(size), "guidance": "7.5",
                  "protocol.sampling.num_samples": num_samples, "protocol.speed.batch_sizes": [1],
                  "protocol.speed.warmup": 0, "protocol.speed.repeats": 1,
                  "protocol.gallery.samples_per_prompt": 1}), inner=(StableDiffusionPipeline, "__call__"))
    kept = load_image_folder(results / record["artifacts"]["samples_dir"])
    after_s = direct_loop(folder, captions, batch_size, steps, size, device)[1]  # the machine's drift: the difference
    if record["samples"]["conversion"] is not None:  # an SD-sized pipeline on the 32x32 protocol: compare converted
        from genbench.evaluation.conversion import plan_conversion
        from genbench.models.base import ImageFormat

        direct = plan_conversion(ImageFormat(size, 3), ImageFormat(protocol.data.image_size, 3), "").apply(direct)
    harness_s = sections["sampling section"] - sections["feature extraction"]
    return {"batch": batch_size, "direct": min(before_s, after_s), "drift": after_s / before_s - 1,
            "harness": harness_s, "features": sections["feature extraction"], "calls": sections["plugin sample calls"],
            "own": harness_s - sections["plugin sample calls"], "pipeline": sections["inner calls"],
            "identical": torch.equal(kept, direct.cpu()), "nfe": record["speed"]["network_evaluations_per_image"]}


def report(row: dict[str, Any]) -> str:
    """One batch size's line: the direct loop, the run's sampling section and the harness's own time."""
    overhead = 100 * (row["harness"] - row["direct"]) / row["direct"]
    return (f"batch {row['batch']}: direct {row['direct']:.2f} s (after/before {row['drift']:+.1%}); genbench sampling "
            f"section minus features {row['harness']:.2f} s ({overhead:+.2f} %; features {row['features']:.2f} s "
            f"apart); inside it the plugin's sample calls {row['calls']:.2f} s and the harness's own time "
            f"{row['own']:.3f} s = {100 * row['own'] / row['calls']:.2f} % of them; the pipeline's own calls "
            f"{row['pipeline']:.2f} s, so everything genbench adds outside feature extraction is "
            f"{100 * (row['harness'] - row['pipeline']) / row['pipeline']:.2f} %; {row['nfe']} network evaluations "
            f"per image; images identical: {row['identical']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--num-samples", type=int, default=250)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-sizes", default="1,250", help="comma-separated; 250 is the protocol's")
    args = parser.parse_args()
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory() as scratch:
        folder = stable_diffusion(Path(scratch) / f"{args.shape}-sd", shape=SHAPES[args.shape])
        print(f"{args.shape} Stable Diffusion pipeline (random weights), shapes protocol, {args.num_samples} images, "
              f"{args.steps} PNDM steps, guidance 7.5, on {device}, {torch.get_num_threads()} torch threads")
        for batch_size in (int(b) for b in args.batch_sizes.split(",")):
            row = compare(folder, args.shape, args.num_samples, args.steps, batch_size, device, Path(scratch))
            print(report(row))


if __name__ == "__main__":
    main()
