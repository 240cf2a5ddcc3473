"""Sampling speed: a timed section separate from evaluation, after warm-up, with device synchronisation,
and how busy the machine was around it, so that timings taken under contention are recorded as such
(the leaderboard shows them flagged and keeps them off the Pareto front).

CPU: the 1-minute load average against the usable CPU count and this process's torch threads.
CUDA: the other processes holding a context on the run's GPU, and its utilisation, read through
NVML (``pynvml``, from the ``nvidia-ml-py`` package) where it is installed.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable

import torch

from genbench.evaluation.device import cpu_count
from genbench.models.base import GenerativeModel, SampleBatch
from genbench.models.precision import sampling_precision
from genbench.protocols.conditions import Conditions
from genbench.protocols.protocol import Protocol
from genbench.trust.seeds import sample_seed

#: Run seed of the timed batches, apart from evaluation (0, 1, ...) and gallery (2**21) seeds: never evaluated.
SPEED_SEED = 2 ** 20


def machine_load(device: torch.device) -> dict[str, Any]:
    """A snapshot: load average, CPU count, torch threads; on CUDA, other GPU processes and utilisation."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows
        load = None
    snapshot: dict[str, Any] = {"load_average_1min": load, "cpu_count": cpu_count(),
                                "torch_threads": torch.get_num_threads()}
    if device.type == "cuda":
        snapshot["gpu"] = gpu_activity(device)
    return snapshot


def gpu_activity(device: torch.device) -> dict[str, Any] | None:
    """Processes on the device besides this one, and its utilisation in percent; None without NVML."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(torch.cuda._get_nvml_device_index(device))
        processes = pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
        utilisation = pynvml.nvmlDeviceGetUtilizationRates(handle).gpu
    except Exception:  # NVML missing from the driver, no permission: the load is simply not known
        return None
    # PIDs inside a container are not NVML's (host) PIDs: count every context but ours, which is one of them
    return {"other_processes": max(0, len(processes) - 1), "utilization_percent": int(utilisation)}


def contended(snapshot: dict[str, Any], device: torch.device) -> bool:
    """True when something else competed for the hardware: on CPU, more runnable threads than CPUs with at
    least one that is not ours; on CUDA, another process on the GPU."""
    gpu = snapshot.get("gpu")
    if device.type == "cuda" and gpu is not None:
        return gpu["other_processes"] > 0
    load = snapshot.get("load_average_1min")
    if load is None:
        return False
    ours = snapshot["torch_threads"] if device.type == "cpu" else 1
    return load > snapshot["cpu_count"] and load - ours >= 1


def speed_conditions(before: dict[str, Any], after: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """The ``speed.machine_load`` section of a result and the ``speed.contended`` flag."""
    return {"machine_load": {"before": before, "after": after},
            "contended": contended(before, device) or contended(after, device)}


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


def time_sampling(model: GenerativeModel, protocol: Protocol, conditions: Conditions,
                  device: torch.device) -> dict[str, Any]:
    """The result's ``speed`` section: the protocol's timed batches of the run's first conditions, with seeds of
    their own, and the machine's load before and after."""
    speed = protocol.speed

    def cycle(values: list | None, b: int) -> list | None:
        return [values[i % len(values)] for i in range(b)] if values else None

    def sample(b: int) -> torch.Tensor:
        seeds = [sample_seed(SPEED_SEED, i) for i in range(b)]
        with sampling_precision(model, device):
            return model.sample(SampleBatch(seeds, device, cycle(conditions.labels, b), cycle(conditions.captions, b)))

    before = machine_load(device)
    measured = measure_speed(sample, speed.batch_sizes, speed.warmup, speed.repeats, device, model.network_evaluations)
    return {**measured, **speed_conditions(before, machine_load(device), device)}
