"""Where a number came from: hardware, library versions, command line."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys

import torch

LIBRARIES = ("genbench", "torch", "torchvision", "torch-fidelity", "clean-fid", "open_clip_torch",
             "diffusers", "numpy", "scipy", "pandas", "safetensors", "pluggy", "scikit-learn")


def library_versions(names: tuple[str, ...] = LIBRARIES) -> dict[str, str | None]:
    """The installed version of each distribution in ``names`` (None when it is not installed)."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware(device: torch.device) -> dict:
    info = {"device": str(device), "cpu": cpu_model(), "cpu_count": os.cpu_count(), "gpu": None}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def environment(device: torch.device) -> dict:
    return {
        "hardware": hardware(device),
        "threads": torch.get_num_threads(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "libraries": library_versions(),
    }
