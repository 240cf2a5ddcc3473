"""How busy the machine was around the timed speed section, so that timings taken under contention are
recorded as such (the leaderboard shows them flagged and keeps them off the Pareto front).

CPU: the 1-minute load average against the usable CPU count and this process's torch threads.
CUDA: the other processes holding a context on the run's GPU, and its utilisation, read through
NVML (``pynvml``, from the ``nvidia-ml-py`` package) where it is installed.
"""

from __future__ import annotations

import os
from typing import Any

import torch


def cpu_count() -> int:
    """CPUs this process may run on (its affinity), which is what competes for them."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


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


def describe_load(load: Any) -> str:
    """A recorded ``speed.machine_load`` in words: ``load 7.9 on 2 CPUs`` (the larger of before and after),
    and other GPU processes where known; fields a record lacks are left out."""
    load = load if isinstance(load, dict) else {}
    snapshots = [s for s in (load.get("before"), load.get("after")) if isinstance(s, dict)]
    averages = [s["load_average_1min"] for s in snapshots if isinstance(s.get("load_average_1min"), (int, float))]
    parts = [f"load {max(averages):.1f} on {snapshots[0].get('cpu_count')} CPUs"] if averages else []
    others = [s["gpu"].get("other_processes") for s in snapshots if isinstance(s.get("gpu"), dict)]
    others = [n for n in others if isinstance(n, int)]
    if others:
        parts.append(f"{max(others)} other GPU process(es)")
    return ", ".join(parts) or "load not recorded"
