"""Checkpoints as one safetensors file: tensors plus the plugin name and config in its metadata.

Keeping the config inside the same file (rather than a JSON beside it) makes a checkpoint one
atomic thing to write, copy and hash. Files are written canonically (the safetensors header's
keys sorted), so identical tensors and config give identical bytes and one SHA-256. Loading never
unpickles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save

from genbench.errors import WeightsError
from genbench.storage.files import atomic_path

FORMAT = "genbench-checkpoint-1"


@dataclass
class Checkpoint:
    plugin: str
    config: dict[str, Any]
    tensors: dict[str, torch.Tensor]
    extra: dict[str, Any]


def save_checkpoint(path: Path, plugin: str, config: dict[str, Any], tensors: dict[str, torch.Tensor],
                    extra: dict[str, Any] | None = None) -> None:
    """Write atomically (temp file + rename) so a killed run never leaves half a checkpoint."""
    metadata = {"format": FORMAT, "plugin": plugin, "config": json.dumps(config, sort_keys=True),
                "extra": json.dumps(extra or {}, sort_keys=True)}
    data = canonical_safetensors({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, metadata)
    with atomic_path(Path(path)) as tmp:
        tmp.write_bytes(data)


def canonical_safetensors(tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> bytes:
    """safetensors bytes whose JSON header has sorted keys and no spaces (the library's order varies by run).

    The tensor data and its offsets are the library's own (laid out in a fixed order); only the
    header is rewritten, padded with spaces to 8 bytes as the format requires.
    """
    raw = save(tensors, metadata=metadata)
    length = int.from_bytes(raw[:8], "little")
    header = json.dumps(json.loads(raw[8:8 + length]), sort_keys=True, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    return len(header).to_bytes(8, "little") + header + raw[8 + length:]


def load_checkpoint(path: Path, plugin: str, also: tuple[str, ...] = ()) -> Checkpoint:
    """Read a checkpoint written for ``plugin`` (or one of the plugins in ``also``, whose checkpoints it
    can read); another plugin's or a foreign file is a ``WeightsError``."""
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"checkpoint {path} does not exist")
    if path.is_dir():
        raise WeightsError(f"checkpoint {path} is a directory; plugin '{plugin}' expects a .safetensors file")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"checkpoint {path} is not a readable safetensors file: {exc}") from None
    if metadata.get("format") != FORMAT:
        raise WeightsError(f"checkpoint {path} was not written by genbench (no '{FORMAT}' metadata)")
    if metadata.get("plugin") not in (plugin, *also):
        accepted = " or ".join(f"'{name}'" for name in (plugin, *also))
        raise WeightsError(f"checkpoint {path} belongs to plugin '{metadata.get('plugin')}', not {accepted}")
    return Checkpoint(metadata["plugin"], json.loads(metadata["config"]), tensors, json.loads(metadata.get("extra", "{}")))


def load_module_state(module: torch.nn.Module, tensors: dict[str, torch.Tensor], prefix: str, path: Path) -> None:
    """Load ``prefix.*`` tensors into ``module``; a shape or key mismatch names the checkpoint."""
    state = {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise WeightsError(f"checkpoint {path} does not fit this model's '{prefix}' network: {first}") from None


def module_tensors(modules: dict[str, torch.nn.Module]) -> dict[str, torch.Tensor]:
    """Flatten named modules' state dicts to ``name.param`` keys."""
    return {f"{name}.{k}": v for name, m in modules.items() for k, v in m.state_dict().items()}
