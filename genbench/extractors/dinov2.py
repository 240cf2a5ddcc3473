"""DINOv2 CLS features (Stein et al., NeurIPS 2023: the space dgm-eval recommends for Fréchet distance).

The network is ``transformers``' ``Dinov2Model``; the feature is its ``pooler_output``, the
final-layernormed CLS token, which is what the torch-hub model dgm-eval calls returns. Images are
prepared as dgm-eval's ``DINOv2Encoder.transform`` does by default (no ``clean_resize``): PIL
image (grey repeated to RGB, as its loader's ``convert('RGB')``), torchvision ``Resize((224,
224), BICUBIC)`` (PIL's own bicubic, so the same pixels), ``ToTensor``, ImageNet mean/std
normalisation. Following dgm-eval exactly keeps genbench's FD_DINOv2 comparable to the numbers
of its leaderboard and paper. transformers interpolates the 518-px position embeddings to 224 px
itself.

Weights are a ``save_pretrained`` (or hub snapshot) directory ``dinov2-<small|base|large|giant>``
in ``--weights-dir``; without one, the hub cache, then a download when online. The SHA-256 of its
``model.safetensors`` is the weights identity (pinned in the protocol, in the fingerprint).
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from genbench.errors import ProtocolError, WeightsError
from genbench.extractors.base import ExtractorSpec, FeatureExtractor
from genbench.extractors.inception import check_pinned_sha256, three_channels
from genbench.storage.weights import offline, weights_dir_from_env
from genbench.trust.hashing import sha256_file

#: dgm-eval's architecture names -> (Hugging Face repository, the published model's configuration).
SIZES: dict[str, tuple[str, dict[str, Any]]] = {
    "vits14": ("facebook/dinov2-small", {"hidden_size": 384, "num_hidden_layers": 12, "num_attention_heads": 6}),
    "vitb14": ("facebook/dinov2-base", {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12}),
    "vitl14": ("facebook/dinov2-large", {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16}),
    "vitg14": ("facebook/dinov2-giant", {"hidden_size": 1536, "num_hidden_layers": 40, "num_attention_heads": 24,
                                         "use_swiglu_ffn": True}),
}
DEFAULT_SIZE = "vitl14"
#: Settings every published DINOv2 shares.
COMMON_CONFIG = {"image_size": 518, "patch_size": 14, "mlp_ratio": 4, "layerscale_value": 1.0}
WEIGHTS_FILE = "model.safetensors"
INPUT_SIZE = 224
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
PREPROCESS = ("PIL bicubic resize to 224x224 (torchvision Resize on PIL images, as dgm-eval), ToTensor, "
              "ImageNet mean/std; grey repeated to RGB")


def published_config(size: str, **overrides: Any):
    """The ``Dinov2Config`` of the published model of ``size`` (``overrides`` replace its fields)."""
    from transformers import Dinov2Config

    return Dinov2Config(**{**COMMON_CONFIG, **SIZES[size][1], **overrides})


def weights_directory_name(size: str) -> str:
    """The directory a weights dir holds for ``size``: the hub repository's name, e.g. ``dinov2-large``."""
    return SIZES[size][0].split("/")[1]


def write_random_dinov2(directory: Path, size: str = DEFAULT_SIZE, seed: int = 0, **overrides: Any) -> Path:
    """A randomly initialised DINOv2 saved with ``save_pretrained`` (tests, benchmarks); ``overrides`` shrink it."""
    from transformers import Dinov2Model

    torch.manual_seed(seed)
    Dinov2Model(published_config(size, **overrides)).eval().save_pretrained(directory, safe_serialization=True)
    return Path(directory)


def locate_weights(size: str, weights_dir: Path | None) -> Path:
    """The ``save_pretrained`` directory of ``size``: the weights dir, else the hub cache or a download."""
    name = weights_directory_name(size)
    if weights_dir is not None:
        candidate = Path(weights_dir) / name
        if (candidate / WEIGHTS_FILE).is_file() and (candidate / "config.json").is_file():
            return candidate
        raise WeightsError(f"DINOv2 {size} weights not found: expected {candidate}/ with config.json and "
                           f"{WEIGHTS_FILE} (Dinov2Model.from_pretrained('{SIZES[size][0]}').save_pretrained(...))")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(SIZES[size][0], allow_patterns=["config.json", WEIGHTS_FILE],
                                      local_files_only=offline()))
    except Exception as exc:  # any hub or network failure becomes one line
        raise WeightsError(f"DINOv2 {size} weights not found ({type(exc).__name__}): put the directory {name}/ "
                           f"(config.json, {WEIGHTS_FILE}) of {SIZES[size][0]} in --weights-dir or "
                           f"$GENBENCH_WEIGHTS") from None


class Dinov2Extractor(FeatureExtractor):
    """``cls``: the final-layernormed CLS token of each image, float64."""

    feature_names = ("cls",)

    def __init__(self, model: Any, size: str, sha256: str, device: torch.device):
        import torchvision.transforms as T  # seconds to import: only when the extractor is built

        self.model = model.to(device).eval().requires_grad_(False)
        self.size, self.device, self._sha256 = size, device, sha256
        self.transform = T.Compose([T.Resize((INPUT_SIZE, INPUT_SIZE), T.InterpolationMode.BICUBIC), T.ToTensor(),
                                    T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])

    @property
    def weights_sha256(self) -> str:
        return self._sha256

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 ``[N, 1|3, H, W]`` -> the network's input, image by image through PIL as dgm-eval."""
        hwc = three_channels(images, "dinov2").permute(0, 2, 3, 1).numpy()
        return torch.stack([self.transform(Image.fromarray(np.ascontiguousarray(image))) for image in hwc])

    def extract(self, images: torch.Tensor, captions: list[str] | None = None) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            output = self.model(pixel_values=self.prepare(images).to(self.device))
        return {"cls": output.pooler_output.double().cpu()}

    def describe(self) -> dict[str, Any]:
        return {"weights_sha256": self._sha256, "library": f"transformers {version('transformers')}",
                "size": self.size, "repository": SIZES[self.size][0], "feature": "CLS token after the final layernorm",
                "feature_dim": int(self.model.config.hidden_size), "preprocess": PREPROCESS}


def build_dinov2_extractor(settings: dict[str, Any], context: Any) -> Dinov2Extractor:
    """The protocol's DINOv2 size (default ViT-L/14), its weights located and checked against the pin."""
    from transformers import Dinov2Model

    size = settings.get("size", DEFAULT_SIZE)
    if size not in SIZES:
        raise ProtocolError(f"extractor kind 'dinov2': size must be one of {', '.join(SIZES)}, got {size!r}")
    directory = locate_weights(size, weights_dir_from_env(getattr(context, "weights_dir", None)))
    digest = sha256_file(directory / WEIGHTS_FILE)
    check_pinned_sha256(settings, digest, directory / WEIGHTS_FILE)
    try:
        model = Dinov2Model.from_pretrained(directory, local_files_only=True, use_safetensors=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{directory} is not a DINOv2 save_pretrained directory: {str(exc).splitlines()[0]}") from None
    expected = SIZES[size][1]["hidden_size"]
    if model.config.hidden_size != expected:
        raise WeightsError(f"{directory} holds a DINOv2 with {model.config.hidden_size}-d features; "
                           f"size {size} has {expected}")
    return Dinov2Extractor(model, size, digest, context.device)


DINOV2 = ExtractorSpec(
    name="dinov2",
    description="DINOv2 CLS features (transformers Dinov2Model, default ViT-L/14), preprocessed as dgm-eval",
    build=build_dinov2_extractor,
    settings={"size": DEFAULT_SIZE, "sha256": None},
)
