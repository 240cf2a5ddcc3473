"""Fixtures for the metrics engine: random-weight feature networks saved under their official file names.

Nothing is downloaded; the files are loaded through the same offline paths a user's would be.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from genbench.extractors.cleanfid_backend import pytorch_fid_inception, torchscript_inception
from genbench.extractors.inception import torch_fidelity_inception
from genbench.extractors.random_inception import write_random_inception_weights


@pytest.fixture(autouse=True)
def isolated_torch_hub(tmp_path, monkeypatch):
    """torch hub's checkpoint cache (where torch-fidelity and pytorch-fid look) is empty and private."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))


@pytest.fixture(scope="session")
def inception_weights(tmp_path_factory) -> Path:
    """A weights directory with a random, BatchNorm-calibrated torch-fidelity InceptionV3 file."""
    directory = tmp_path_factory.mktemp("inception-weights")
    write_random_inception_weights(directory / torch_fidelity_inception().filename)
    return directory


@pytest.fixture
def pytorch_fid_hub(inception_weights, tmp_path) -> Path:
    """The same random weights where torch hub keeps pytorch-fid's file (clean-fid's legacy_pytorch mode)."""
    checkpoints = tmp_path / "torch-home" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    target = checkpoints / pytorch_fid_inception().filename
    target.write_bytes((inception_weights / torch_fidelity_inception().filename).read_bytes())
    return target


class TinyCleanFidNet(nn.Module):
    """clean-fid's TorchScript interface (``layers``, ``return_features``) with a tiny network behind it.

    32 learned features zero-padded to the 2048 clean-fid expects: fast to run and to take
    the covariance eigenvalues of.
    """

    def __init__(self):
        super().__init__()
        features = nn.Linear(128, 32)
        nn.init.normal_(features.weight, std=2.0)  # features of order 10, as Inception's are: KID well above 0
        self.layers = nn.Sequential(nn.Conv2d(3, 8, 8, stride=8), nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten(),
                                    features, ZeroPad(2048 - 32))

    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        return self.layers((x - 128) / 128)


class ZeroPad(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.width = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (0, self.width))


@pytest.fixture(scope="session")
def torchscript_weights(tmp_path_factory) -> Path:
    """A weights directory with a TorchScript file named as clean-fid's Inception."""
    directory = tmp_path_factory.mktemp("torchscript-weights")
    torch.manual_seed(1)
    torch.jit.script(TinyCleanFidNet()).save(str(directory / torchscript_inception().filename))
    return directory
