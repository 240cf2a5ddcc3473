"""Random InceptionV3 weights in torch-fidelity's format, for tests and benchmarks on machines without the real file.

torchvision's initialisation of the same architecture, loaded into torch-fidelity's network; a
random Inception's activations vanish with depth, so its BatchNorm statistics are then
calibrated on random images (one pass in training mode, cumulative averages). Features and
logits then spread like a trained network's, so metrics computed with them are non-trivial
numbers; they mean nothing about image quality. Such a file is never the official release:
genbench accepts it only with ``--trust-weights``.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn
import torchvision
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3


def structured_images(seed: int, count: int, size: int = 32, channels: int = 3, shift: float = 0.0,
                      noise: float = 12.0) -> torch.Tensor:
    """uint8 images with some structure: upsampled 4x4 random colour fields plus pixel noise, shifted in brightness."""
    generator = torch.Generator().manual_seed(seed)
    fields = torch.rand(count, channels, 4, 4, generator=generator) * 255
    images = nn.functional.interpolate(fields, size=(size, size), mode="bilinear", align_corners=False)
    images = images + torch.randn(count, channels, size, size, generator=generator) * noise + shift
    return images.clamp(0, 255).round().to(torch.uint8)


def write_random_inception_weights(path: Path, seed: int = 0) -> Path:
    """Write a random, BatchNorm-calibrated torch-fidelity InceptionV3 state dict to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    initial = torchvision.models.inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=True)
    torch.save(initial.state_dict(), path)
    network = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                          feature_extractor_weights_path=str(path))
    for module in network.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
            module.train()
    with torch.no_grad():
        network(structured_images(seed=99, count=8))
    torch.save(network.eval().state_dict(), path)
    return path
