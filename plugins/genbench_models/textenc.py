"""The frozen CLIP text tower the text-to-image plugins share (ldm, galip, dfgan).

The CLIP weights never enter a plugin's checkpoint: the config records the open_clip model
name, the pretrained tag (or weights file) and the SHA-256 of the weights used, and loading
finds them again through ``genbench.extractors.open_clip_models.load_clip`` in the weights directory
(``$GENBENCH_WEIGHTS``) or the hub cache; other weights than the checkpoint was trained
with are refused. A bare ``*.safetensors`` name (a protocol recipe's
``clip_pretrained = "shapes_clip.safetensors"``) is resolved as the clip extractor resolves
it: the weights directory, then genbench's shipped reference folder.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from genbench.errors import PluginError, WeightsError
from genbench.extractors.open_clip_models import DEFAULT_MODEL, DEFAULT_PRETRAINED, ClipModel, load_clip, weights_file
from genbench.models.base import SampleBatch, Task
from genbench.models.kit import NetworkModel
from genbench.storage.weights import weights_dir_from_env

#: Config keys naming the frozen CLIP model; defaults are ViT-B/32 with OpenAI's weights (512-d).
CLIP_DEFAULTS = {"clip_model": DEFAULT_MODEL, "clip_pretrained": DEFAULT_PRETRAINED}


def load_frozen_clip(config: dict[str, Any], device: torch.device | str = "cpu") -> ClipModel:
    """Load the config's CLIP model and record (or check) the SHA-256 of its weights in ``config``."""
    settings = {**CLIP_DEFAULTS, **{k: config[k] for k in CLIP_DEFAULTS if k in config}}
    weights_dir = weights_dir_from_env(None)
    pretrained = weights_file(settings["clip_pretrained"], weights_dir)
    clip = load_clip(settings["clip_model"], pretrained, weights_dir, device)
    expected = config.get("clip_sha256")
    if expected and expected != clip.weights_sha256:
        raise WeightsError(f"CLIP weights {settings['clip_model']}/{settings['clip_pretrained']} have SHA-256 "
                           f"{clip.weights_sha256[:16]}..., but the model config pins {expected[:16]}...")
    config.update(settings, clip_sha256=clip.weights_sha256)
    return clip


def captions_of(batch: SampleBatch, plugin: str) -> list[str]:
    """The batch's captions, one per image, or a ``PluginError`` naming the plugin."""
    if batch.captions is None or len(batch.captions) != len(batch):
        raise PluginError(f"plugin '{plugin}' generates from captions: give one caption per image")
    return list(batch.captions)


class ClipTextEncoder:
    """Sentence vectors and per-token states of captions from a frozen CLIP text tower.

    Captions longer than the tokenizer's context are truncated by it (``ClipConditionedModel.truncated_captions``).
    """

    def __init__(self, clip: ClipModel):
        self.clip = clip

    @property
    def sentence_dim(self) -> int:
        projection = self.clip.model.text_projection
        return int(projection.out_features if isinstance(projection, torch.nn.Linear) else projection.shape[1])

    @property
    def token_dim(self) -> int:
        return int(self.clip.model.transformer.width)

    def _tokens(self, captions: list[str], device: torch.device) -> torch.Tensor:
        return self.clip.tokenize(list(captions)).to(device)

    @torch.no_grad()
    def sentences(self, captions: list[str]) -> torch.Tensor:
        """CLIP text embeddings ``[N, sentence_dim]`` (not normalised: GALIP and DF-GAN fuse them as they are)."""
        model = self.clip.model
        device = model.token_embedding.weight.device
        return model.encode_text(self._tokens(captions, device)).float()

    @torch.no_grad()
    def token_states(self, captions: list[str]) -> torch.Tensor:
        """Final-layer token states ``[N, context_length, token_dim]`` (after the last LayerNorm) for cross-attention."""
        model = self.clip.model
        device = model.token_embedding.weight.device
        out = model.forward_intermediates(text=self._tokens(captions, device), text_indices=1,
                                          normalize_intermediates=True, intermediates_only=True)
        return out["text_intermediates"][-1].float()


class ClipConditionedModel(NetworkModel):
    """A text-to-image ``NetworkModel`` conditioned through a frozen CLIP model held beside its networks.

    The CLIP model is moved with the networks and counted in ``parameter_counts()['all']`` (the
    towers the model uses), never trained and never saved in the checkpoint.
    """

    task = Task.TEXT_TO_IMAGE
    #: Whether the model also runs CLIP's image tower (GALIP) or only its text tower.
    uses_clip_vision: ClassVar[bool] = False

    def load_text_encoder(self, config: dict[str, Any]) -> ClipTextEncoder:
        """Load the frozen CLIP named by ``config`` (on the CPU; ``to`` moves it)."""
        self.text_encoder = ClipTextEncoder(load_frozen_clip(config))
        return self.text_encoder

    @property
    def clip(self) -> ClipModel:
        return self.text_encoder.clip

    def captions_of(self, batch: SampleBatch) -> list[str]:
        return captions_of(batch, self.plugin_name)

    def truncated_captions(self, captions: list[str]) -> int:
        return int(self.clip.truncated(list(captions)).sum())

    def modules(self) -> dict[str, torch.nn.Module]:
        return {**self.networks, "clip": self.clip.model}

    def to(self, device: torch.device | str) -> "ClipConditionedModel":
        super().to(torch.device(device))
        self.clip.device = torch.device(device)
        return self

    def parameter_counts(self) -> dict[str, int]:
        """All parameters (networks + the CLIP towers used) and those training updates (networks only)."""
        params = {id(p): p for m in self.networks.values() for p in m.parameters()}
        params.update({id(p): p for name, p in self.clip.model.named_parameters()
                       if self.uses_clip_vision or not name.startswith("visual.")})
        return {
            "all": sum(p.numel() for p in params.values()),
            "trainable": sum(p.numel() for p in params.values() if p.requires_grad),
        }
