"""``make gpu-check``: the GPU tests and the figures of issues 11 and 23, in one run of about 12 minutes on one GPU.

1. ``pytest -m gpu`` (CUDA run = CPU run within tolerance, one-GPU NCCL torchrun, fp16 sampling).
2. Inception feature images/s at batch 250 (torch-fidelity's network, random BatchNorm-calibrated
   weights unless ``--weights-dir`` holds the official file: the speed is the network's).
3. ddpm sampling images/s with ``cifar10-50k``'s U-Net (the protocol's ddpm config, random weights):
   one U-Net step at batch 250 timed, times the model's network evaluations per image; and
   ``SampleBatch.randn`` against one step of an ldm-shaped U-Net at batch 250 (``bench_noise.py``).
4. FID from 2048-d statistics: torch-fidelity's route and genbench's (CPU, float64).
5. The projected end-to-end time of ``cifar10-50k`` from those figures.
6. A pipeline shaped like Stable Diffusion 1.5 (random weights, 512x512) through ``genbench run --plugin diffusers``
   on ``shapes`` against the pipeline called directly with the same generators, at batch 1 and 100
   (``bench_pipeline.py``): the harness's overhead outside feature extraction, and the same images.

    python bench/gpu_check.py [--weights-dir DIR] [--skip-tests]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from genbench.extractors.base import ExtractorContext
from genbench.extractors.inception import build_inception_extractor, torch_fidelity_inception
from genbench.extractors.random_inception import write_random_inception_weights
from genbench.models.base import ImageFormat
from genbench.registry import get_registry

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the tiny pipelines' builders
from bench_metrics import fid_from_statistics  # noqa: E402
from bench_noise import noise_and_step_seconds  # noqa: E402
from bench_pipeline import compare, report  # noqa: E402
from tiny_pipelines import SD15, stable_diffusion  # noqa: E402


def synchronised_seconds(function, repeats: int) -> float:
    """Best of ``repeats`` timed calls, the GPU synchronised around each (after one warm-up call)."""
    function()
    best = float("inf")
    for _ in range(repeats):
        torch.cuda.synchronize()
        start = time.perf_counter()
        function()
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def inception_images_per_second(weights_dir: Path | None, scratch: Path, batch: int) -> float:
    if weights_dir is None:
        weights_dir = scratch / "weights"
        write_random_inception_weights(weights_dir / torch_fidelity_inception().filename)
    context = ExtractorContext(torch.device("cuda"), weights_dir, True, scratch / "cache", None)
    extractor = build_inception_extractor({"features": ["2048", "logits_unbiased"]}, context)
    images = torch.randint(0, 256, (batch, 3, 32, 32), dtype=torch.uint8, device="cuda")
    return batch / synchronised_seconds(lambda: extractor.extract(images), 3)


def ddpm_images_per_second(batch: int) -> tuple[float, int]:
    protocol = get_registry().protocol("cifar10-50k")
    spec = get_registry().model("ddpm").item
    config = {**spec.default_config, **protocol.recipe_for("ddpm").get("config", {})}
    model = spec.model_class.create(ImageFormat(protocol.data.image_size, protocol.data.channels), config)
    model = model.to(torch.device("cuda")).eval()
    noisy = torch.randn(batch, protocol.data.channels, protocol.data.image_size, protocol.data.image_size, device="cuda")
    timesteps = torch.full((batch,), 500, device="cuda")
    with torch.no_grad():
        step = synchronised_seconds(lambda: model.predict_noise(noisy, timesteps), 3)
    return batch / (step * model.network_evaluations), model.network_evaluations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights-dir", type=Path, help="directory with the official Inception weights file")
    parser.add_argument("--skip-tests", action="store_true")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("gpu-check: no CUDA device on this machine")
    print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    if not args.skip_tests:
        root = Path(__file__).resolve().parent.parent
        tests = subprocess.run([sys.executable, "-m", "pytest", "-m", "gpu", "-q", "tests/test_gpu.py"], cwd=root,
                               env={**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "plugins"),
                                                                                 os.environ.get("PYTHONPATH", "")])})
        print(f"pytest -m gpu: exit code {tests.returncode}")
    with tempfile.TemporaryDirectory() as scratch:
        inception = inception_images_per_second(args.weights_dir, Path(scratch), 250)
    ddpm, evaluations = ddpm_images_per_second(250)
    print(f"Inception features at batch 250: {inception:.0f} images/s")
    print(f"ddpm sampling, cifar10-50k U-Net, {evaluations} steps, batch 250: {ddpm:.2f} images/s")
    noise_s, step_s = noise_and_step_seconds(250, 64, torch.device("cuda"))
    print(f"batch.randn for 250 64x64x4 latents {noise_s * 1000:.1f} ms vs one ldm-shaped U-Net step "
          f"{step_s * 1000:.1f} ms (ratio {noise_s / step_s:.3f})")
    fid_from_statistics(10000, 3)
    protocol = get_registry().protocol("cifar10-50k")
    n = protocol.sampling.num_samples
    sampling_h, features_h = n / ddpm / 3600, 2 * n / inception / 3600  # generated + reference features
    print(f"cifar10-50k projected on this GPU: sampling {sampling_h:.2f} h + Inception {features_h * 60:.1f} min "
          f"(first run, reference not cached) = {sampling_h + features_h:.2f} h (training not included)")
    with tempfile.TemporaryDirectory() as scratch:
        folder = stable_diffusion(Path(scratch) / "sd15", shape=SD15)
        print("Stable-Diffusion-1.5-shaped pipeline (random weights, 512x512, 5 PNDM steps, guidance 7.5), 100 shapes "
              "images resized to 32x32 by the harness:")
        for batch_size in (1, 100):
            print(report(compare(folder, "sd15", 100, 5, batch_size, torch.device("cuda"), Path(scratch))))


if __name__ == "__main__":
    main()
