"""Shared pieces of the text-to-image plugin tests: a tiny open_clip model with random weights
saved as safetensors (loaded through genbench.extractors.open_clip_models's weights-file path), and captioned images."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

TINY_CLIP = "genbench-test-tiny-clip"
TINY_CLIP_CONFIG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 3, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 220), "yellow": (230, 220, 30)}


def make_tiny_clip(directory: Path) -> Path:
    """Register the tiny open_clip config and write random weights for it; returns the weights file."""
    import open_clip

    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / f"{TINY_CLIP}.json"
    config_path.write_text(json.dumps(TINY_CLIP_CONFIG), encoding="utf-8")
    open_clip.add_model_config(config_path)
    torch.manual_seed(0)
    model = open_clip.create_model(TINY_CLIP)
    weights = directory / f"open_clip-{TINY_CLIP}-random.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    return weights


def captioned_images(n: int, size: int) -> tuple[torch.Tensor, list[str]]:
    """uint8 ``[n, 3, size, size]`` squares of a colour on the left or right, with captions saying so."""
    images = torch.zeros(n, 3, size, size, dtype=torch.uint8)
    captions = []
    names = list(COLOURS)
    for i in range(n):
        colour, side = names[i % len(names)], ("left", "right")[(i // len(names)) % 2]
        left = 2 if side == "left" else size // 2
        images[i, :, size // 4: 3 * size // 4, left: left + size // 2 - 2] = torch.tensor(COLOURS[colour])[:, None, None]
        captions.append(f"a {colour} square on the {side}")
    return images, captions
