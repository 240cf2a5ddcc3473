"""DF-GAN's deep text-image fusion block (Tao et al. 2022), shared by the dfgan and galip generators.

A DFBlock stacks two text-conditioned affine transforms, each followed by LeakyReLU(0.2): the
condition vector predicts a per-channel scale and shift for the image features. The scale
starts at 1 and the shift at 0 (last linear layers zero-initialised), as in the authors' code.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class ConditionalAffine(nn.Module):
    """``gamma(c) * x + beta(c)`` with per-channel gamma and beta predicted by two-layer MLPs."""

    def __init__(self, cond_dim: int, channels: int):
        super().__init__()
        self.gamma = nn.Sequential(nn.Linear(cond_dim, channels), nn.ReLU(), nn.Linear(channels, channels))
        self.beta = nn.Sequential(nn.Linear(cond_dim, channels), nn.ReLU(), nn.Linear(channels, channels))
        for head, bias in ((self.gamma, 1.0), (self.beta, 0.0)):
            nn.init.zeros_(head[2].weight)
            nn.init.constant_(head[2].bias, bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.gamma(cond)[:, :, None, None] * x + self.beta(cond)[:, :, None, None]


class DFBlock(nn.Module):
    """Affine -> LeakyReLU -> Affine -> LeakyReLU, all conditioned on the same vector."""

    def __init__(self, cond_dim: int, channels: int):
        super().__init__()
        self.affine0 = ConditionalAffine(cond_dim, channels)
        self.affine1 = ConditionalAffine(cond_dim, channels)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.affine0(x, cond), 0.2)
        return F.leaky_relu(self.affine1(x, cond), 0.2)


class FusedConvBlock(nn.Module):
    """Residual block of two convolutions, each paired with a DFBlock (DF-GAN's and GALIP's G-blocks, GALIP's F-blocks).

    ``size`` resizes the input first (nearest) when given. G-blocks fuse before each convolution
    (``fuse_first``); GALIP's Bridge-FP fusion blocks fuse after each, through ``mid_ch`` channels.
    """

    def __init__(self, cond_dim: int, in_ch: int, out_ch: int, size: int | None = None, fuse_first: bool = True,
                 mid_ch: int | None = None):
        super().__init__()
        mid_ch = mid_ch or out_ch
        self.size, self.fuse_first = size, fuse_first
        self.conv1 = nn.Conv2d(in_ch, mid_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(mid_ch, out_ch, 3, 1, 1)
        self.fuse1 = DFBlock(cond_dim, in_ch if fuse_first else mid_ch)
        self.fuse2 = DFBlock(cond_dim, mid_ch if fuse_first else out_ch)
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        if self.size is not None:
            x = F.interpolate(x, size=(self.size, self.size))
        if self.fuse_first:
            h = self.conv2(self.fuse2(self.conv1(self.fuse1(x, cond)), cond))
        else:
            h = self.fuse2(self.conv2(self.fuse1(self.conv1(x), cond)), cond)
        return self.shortcut(x) + h
