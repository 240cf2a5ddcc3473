"""CLIP features: open_clip image embeddings and the embeddings of the captions paired with them.

Both are unit-norm and returned in float64, row-aligned with the images, so the CLIP score of
image i is the cosine of row i of ``image`` and row i of ``text``. Images are preprocessed by
open_clip's own PIL pipeline; that mode is part of the extractor's identity, hence of the
protocol fingerprint, so results of genbench's earlier tensor preprocessing are never ranked
with these. ``caption_truncated`` marks captions longer than the tokenizer's context, which the
tokenizer cut; metrics report the count.
"""

from __future__ import annotations

from typing import Any

import torch

from genbench.errors import WeightsError
from genbench.extractors.base import ExtractorSpec, FeatureExtractor
from genbench.extractors.open_clip_models import (DEFAULT_MODEL, DEFAULT_PRETRAINED, PREPROCESS, PREPROCESS_STEPS,
                                                  ClipModel, load_clip, weights_file)
from genbench.storage.weights import weights_dir_from_env


class ClipExtractor(FeatureExtractor):
    """``image`` embeddings always; ``text`` and ``caption_truncated`` when captions come with the images."""

    feature_names = ("image", "text", "caption_truncated")

    def __init__(self, clip: ClipModel):
        self.clip = clip

    @property
    def weights_sha256(self) -> str:
        return self.clip.weights_sha256

    @property
    def identity(self) -> dict[str, str]:
        return {"weights_sha256": self.weights_sha256, "preprocess": PREPROCESS}

    def describe(self) -> dict[str, Any]:
        return {"weights_sha256": self.weights_sha256, "model": self.clip.model_name,
                "pretrained": self.clip.pretrained, "image_size": self.clip.image_size,
                "context_length": self.clip.context_length, "preprocess": PREPROCESS,
                "preprocess_steps": PREPROCESS_STEPS}

    def extract(self, images: torch.Tensor, captions: list[str] | None = None) -> dict[str, torch.Tensor]:
        features = {"image": self.clip.encode_images(images).double().cpu()}
        if captions is not None:
            features["text"] = self.clip.encode_texts(list(captions)).double().cpu()
            features["caption_truncated"] = self.clip.truncated(list(captions)).double().unsqueeze(1)
        return features


def load_pinned_clip(kind: str, settings: dict[str, Any], context: Any, default_model: str,
                     default_pretrained: str) -> ClipModel:
    """The protocol's open_clip model (weights directory first, download only when online), hash checked."""
    weights_dir = weights_dir_from_env(getattr(context, "weights_dir", None))
    pretrained = weights_file(settings.get("pretrained", default_pretrained), weights_dir)
    clip = load_clip(settings.get("model", default_model), pretrained, weights_dir, context.device)
    expected = settings.get("sha256")
    if expected and clip.weights_sha256 != expected:
        raise WeightsError(f"CLIP weights {pretrained} have SHA-256 {clip.weights_sha256[:16]}..., "
                           f"the protocol expects {expected[:16]}...")
    return clip


def build_clip_extractor(settings: dict[str, Any], context: Any) -> ClipExtractor:
    """Load the protocol's open_clip model (weights directory first, download only when online)."""
    return ClipExtractor(load_pinned_clip("clip", settings, context, DEFAULT_MODEL, DEFAULT_PRETRAINED))


CLIP = ExtractorSpec(
    name="clip",
    description="open_clip image embeddings and paired caption embeddings (unit-norm), for CLIP score and diversity",
    build=build_clip_extractor,
    #: ``caption_accuracy`` records the shipped model's measured accuracy; it is not used to compute anything.
    settings={"model": DEFAULT_MODEL, "pretrained": DEFAULT_PRETRAINED, "sha256": None, "caption_accuracy": None},
)
