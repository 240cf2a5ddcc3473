"""CLIP image embeddings for CMMD (Jayasumana et al., CVPR 2024): open_clip ViT-L-14-336, L2-normalised.

The reference implementation (google-research/cmmd) embeds images with CLIP ViT-L/14 at 336 px
after a bicubic resize to 336x336 and CLIP's normalisation. genbench uses open_clip's
ViT-L-14-336 with the OpenAI weights and its eval transform (shorter side to 336, bicubic,
antialiased, centre crop: for square images a plain resize), the same loader as the ``clip``
extractor: ``open_clip-ViT-L-14-336-openai.safetensors`` in ``--weights-dir``, SHA-256 pinned in
the protocol. Captions are ignored: CMMD compares image sets.
"""

from __future__ import annotations

from typing import Any

import torch

from genbench.extractors.base import ExtractorSpec
from genbench.extractors.clip import ClipExtractor, load_pinned_clip

DEFAULT_MODEL = "ViT-L-14-336"
DEFAULT_PRETRAINED = "openai"


class ClipImageExtractor(ClipExtractor):
    """``image``: unit-norm open_clip image embeddings, float64."""

    feature_names = ("image",)

    def extract(self, images: torch.Tensor, captions: list[str] | None = None) -> dict[str, torch.Tensor]:
        return {"image": self.clip.encode_images(images).double().cpu()}


def build_clip_image_extractor(settings: dict[str, Any], context: Any) -> ClipImageExtractor:
    """open_clip ViT-L-14-336 (or the protocol's ``model``/``pretrained``) with its weights checked."""
    return ClipImageExtractor(load_pinned_clip("clip-image", settings, context, DEFAULT_MODEL, DEFAULT_PRETRAINED))


CLIP_IMAGE = ExtractorSpec(
    name="clip-image",
    description="open_clip image embeddings only (default ViT-L-14-336, OpenAI weights), unit-norm, for CMMD",
    build=build_clip_image_extractor,
    settings={"model": DEFAULT_MODEL, "pretrained": DEFAULT_PRETRAINED, "sha256": None},
)
