"""Sampling speed: a timed section separate from evaluation, after warm-up, with device synchronisation."""

from __future__ import annotations

import time
from typing import Callable

import torch


def synchronize(device: torch.device) -> None:
    """Wait for queued device work so wall time covers it (a no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_speed(sample: Callable[[int], object], batch_sizes: tuple[int, ...], warmup: int, repeats: int,
                  device: torch.device, network_evaluations: int) -> dict:
    """Seconds per image and images per second at each batch size; peak device memory on CUDA.

    ``sample(b)`` generates one batch of ``b`` images. ``warmup`` untimed batches come first;
    then ``repeats`` batches are timed between two synchronisations.
    """
    per_batch = {}
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for b in batch_sizes:
        for _ in range(warmup):
            sample(b)
        synchronize(device)
        start = time.perf_counter()
        for _ in range(repeats):
            sample(b)
        synchronize(device)
        seconds = time.perf_counter() - start
        images = b * repeats
        per_batch[str(b)] = {
            "batch_size": b,
            "timed_images": images,
            "seconds": seconds,
            "seconds_per_image": seconds / images,
            "images_per_second": images / seconds if seconds > 0 else float("inf"),
        }
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return {
        "device": str(device),
        "warmup_batches": warmup,
        "repeats": repeats,
        "network_evaluations_per_image": network_evaluations,
        "by_batch_size": per_batch,
        "peak_device_memory_bytes": peak,
    }
