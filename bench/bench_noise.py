"""Per-image seeded noise (``SampleBatch.randn``) against one denoising step of a latent U-Net, at one batch size.

``SampleBatch.randn`` draws each image's noise from its own CPU generator (image i's noise depends
only on its seed) and moves the batch to the device. An ancestral sampler draws it once per step,
so it must stay small next to the network's own step. The U-Net is the ``ldm`` plugin's default
shape (diffusers ``UNet2DConditionModel``, channels 128/256/256, cross-attention to 77 CLIP tokens
of 512 dims), random weights, on a 64x64x4 latent as the issue asks.

    python bench/bench_noise.py --batch 250 [--device cuda] [--step-batch 10]

``--step-batch`` times the U-Net on fewer images and scales its time linearly to ``--batch`` (for a
slow CPU, where one step at batch 250 takes minutes).
"""

from __future__ import annotations

import argparse
import time

import torch
from diffusers import UNet2DConditionModel

from genbench.models.base import SampleBatch


def timed(function, device: torch.device, repeats: int) -> float:
    """Best wall time of ``repeats`` calls, the device synchronised around each."""
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        function()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best


def noise_and_step_seconds(batch_size: int, latent: int, device: torch.device, step_batch: int | None = None,
                           repeats: int = 3) -> tuple[float, float]:
    """Seconds of ``SampleBatch.randn`` and of one U-Net step (scaled from ``step_batch`` images) at ``batch_size``."""
    batch = SampleBatch(list(range(batch_size)), device)
    noise_s = timed(lambda: batch.randn(4, latent, latent), device, repeats)
    unet = UNet2DConditionModel(
        sample_size=latent, in_channels=4, out_channels=4, block_out_channels=(128, 256, 256),
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"), layers_per_block=1,
        attention_head_dim=8, cross_attention_dim=512, norm_num_groups=32).to(device).eval()
    step_batch = step_batch or batch_size
    latents = torch.randn(step_batch, 4, latent, latent, device=device)
    text = torch.randn(step_batch, 77, 512, device=device)
    with torch.no_grad():
        step_s = timed(lambda: unet(latents, 500, encoder_hidden_states=text), device, 1 if device.type == "cpu" else 3)
    return noise_s, step_s * batch_size / step_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--latent", type=int, default=64, help="latent side (channels: 4)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--step-batch", type=int, help="time the U-Net at this batch and scale (default: --batch)")
    args = parser.parse_args()
    device = torch.device(args.device)
    noise_s, step_s = noise_and_step_seconds(args.batch, args.latent, device, args.step_batch, args.repeats)
    how = "measured" if args.step_batch in (None, args.batch) else f"{args.step_batch} images timed, scaled"
    print(f"batch {args.batch}, {args.latent}x{args.latent}x4 latent on {device} ({torch.get_num_threads()} threads): "
          f"batch.randn {noise_s * 1000:.1f} ms, one U-Net step {step_s * 1000:.0f} ms ({how}), "
          f"noise / step = {noise_s / step_s:.4f}")


if __name__ == "__main__":
    main()
