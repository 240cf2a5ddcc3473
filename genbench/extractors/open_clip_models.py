"""open_clip models loaded the genbench way: weights directory first, hub download only when online.

One loader serves the CLIP-score metric and the text-to-image plugins' frozen text towers, so
both record the same weights hash. Images for the CLIP score go exactly the way of open_clip's
own pipeline (each uint8 image becomes a PIL image and goes through the eval transform
``create_model_and_transforms`` returns), so genbench's CLIP score is the number open_clip and
torchmetrics give. Training losses that need gradients through the preprocessing use the same
steps on float tensors (``preprocess_tensor``); it is not faster on a CPU (bench/README.md), so
the metric never uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from PIL import Image

from genbench.errors import WeightsError
from genbench.storage.downloads import check_reachable, hub_endpoint
from genbench.storage.weights import WeightsSource, resolve
from genbench.trust.hashing import sha256_file

DEFAULT_MODEL = "ViT-B-32"
DEFAULT_PRETRAINED = "openai"
#: Preprocessing settings a pretrained tag carries; a weights file alone would lose them.
PREPROCESS_KEYS = ("mean", "std", "interpolation", "resize_mode")
#: How the metric path preprocesses images (recorded in results; part of the protocol fingerprint).
PREPROCESS = "open_clip-pil"
PREPROCESS_STEPS = ("open_clip's own eval transform (as create_model_and_transforms returns it) on PIL images: "
                    "PIL resize of the shorter side with the model's interpolation, centre crop, grey to RGB, "
                    "normalise with the model's mean and std")
#: open_clip resize modes ``preprocess_tensor`` reproduces (``preprocess`` takes every mode open_clip has).
TENSOR_RESIZE_MODES = ("shortest", "squash")
#: open_clip architectures genbench ships (``*.json`` model configs beside its reference weights).
REFERENCE_CONFIGS = Path(__file__).resolve().parents[1] / "reference"


def clip_weights_source(model_name: str, pretrained: str) -> WeightsSource:
    """Where ``model_name``/``pretrained`` weights come from, and the file name a weights dir holds."""
    import open_clip

    cfg = open_clip.get_pretrained_cfg(model_name, pretrained)
    hub = cfg.get("hf_hub", "").strip("/")
    url = f"https://huggingface.co/{hub}/resolve/main/open_clip_model.safetensors" if hub else cfg.get("url", "")
    return WeightsSource(filename=f"open_clip-{model_name}-{pretrained}.safetensors", url=url or "(unknown source)")


@dataclass
class ClipModel:
    """A frozen open_clip model with its tokenizer and the SHA-256 of its weights file."""

    model: Any
    tokenizer: Any
    model_name: str
    pretrained: str
    weights_sha256: str
    device: torch.device

    @property
    def context_length(self) -> int:
        return int(getattr(self.model, "context_length", 77))

    @property
    def image_size(self) -> int:
        size = self.model.visual.image_size
        return int(size[0] if isinstance(size, (tuple, list)) else size)

    @cached_property
    def transform(self) -> Callable[[Image.Image], torch.Tensor]:
        """open_clip's eval transform for this model: what ``create_model_and_transforms`` returns."""
        from open_clip.transform import PreprocessCfg, image_transform_v2

        return image_transform_v2(PreprocessCfg(**self.model.visual.preprocess_cfg), is_train=False)

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 ``[N, C, H, W]`` -> image-tower input by open_clip's own pipeline: each image as a PIL
        image (grey as mode ``L``) through ``transform``."""
        arrays = images.to(torch.uint8).cpu().permute(0, 2, 3, 1).numpy()
        pils = [Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a) for a in arrays]
        return torch.stack([self.transform(p) for p in pils]).to(self.device)

    def preprocess_tensor(self, images: torch.Tensor) -> torch.Tensor:
        """Pixels ``[N, C, H, W]`` in 0..255 (uint8 or float) -> image-tower input, differentiably.

        open_clip's eval steps (resize shorter side, centre crop, normalise with the model's
        preprocess config) by torchvision on tensor batches: within ~1e-4 of ``preprocess`` after
        a resize (PIL resizes in uint8, torch in float), for training losses, never for metrics.
        """
        cfg = open_clip_preprocess_cfg(self.model)
        if cfg.get("resize_mode", "shortest") not in TENSOR_RESIZE_MODES:
            raise WeightsError(f"open_clip {self.model_name}: resize mode '{cfg['resize_mode']}' has no tensor "
                               f"preprocessing in genbench (only {', '.join(TENSOR_RESIZE_MODES)})")
        import torchvision.transforms.v2.functional as TF  # seconds to import: only when images are preprocessed

        x = images.to(self.device).float() / 255.0
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        size = self.image_size
        mode = TF.InterpolationMode(cfg.get("interpolation", "bicubic"))
        if cfg.get("resize_mode", "shortest") == "squash":
            x = TF.resize(x, [size, size], interpolation=mode, antialias=True)
        else:
            x = TF.resize(x, [size], interpolation=mode, antialias=True)
        x = TF.center_crop(x, [size, size]).clamp(0, 1)
        return TF.normalize(x, list(cfg["mean"]), list(cfg["std"]))

    @torch.no_grad()
    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """Unit-norm image embeddings ``[N, D]`` (float32 on the model's device) of uint8 images."""
        return F.normalize(self.model.encode_image(self.preprocess(images)).float(), dim=-1)

    def truncated(self, texts: list[str]) -> torch.Tensor:
        """Bool ``[N]``: which texts are longer than the context and get cut by the tokenizer."""
        limit = self.context_length - 2  # start and end tokens
        encode = getattr(self.tokenizer, "encode", None)
        return torch.tensor([encode is not None and len(encode(t)) > limit for t in texts], dtype=torch.bool)

    def tokenize(self, texts: list[str]) -> torch.Tensor:
        """Token ids ``[N, context_length]``; longer texts are cut (``truncated`` tells which)."""
        return self.tokenizer(texts).to(self.device)

    @torch.no_grad()
    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        """Unit-norm text embeddings ``[N, D]``."""
        return F.normalize(self.model.encode_text(self.tokenize(texts)).float(), dim=-1)


def weights_file(name: str, weights_dir: Path | None) -> str:
    """A bare ``*.safetensors`` name resolved in the weights directory, then genbench's reference folder.

    Tags (``openai``) and paths are returned as they are; genbench's shipped CLIP weights
    (``shapes_clip.safetensors``) are thus found without any weights directory.
    """
    if not name.endswith(".safetensors") or Path(name).is_absolute():
        return name
    candidates = ([weights_dir / name] if weights_dir else []) + [REFERENCE_CONFIGS / name]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        raise WeightsError(f"CLIP weights '{name}' not found (looked in: {', '.join(str(p.parent) for p in candidates)})")
    return str(found)


def register_reference_configs() -> None:
    """Make genbench's own open_clip architectures (e.g. ``genbench-shapes-clip``) known to open_clip."""
    import open_clip

    if any(config.stem not in open_clip.list_models() for config in REFERENCE_CONFIGS.glob("*.json")):
        open_clip.add_model_config(REFERENCE_CONFIGS)


def open_clip_preprocess_cfg(model: Any) -> dict[str, Any]:
    """The model's preprocessing settings (size, mean, std, interpolation) as open_clip records them."""
    import open_clip

    return open_clip.get_model_preprocess_cfg(model)


def _hub_cached(cfg: dict[str, Any]) -> Path | None:
    """The hub cache's copy of the weights, if one is there (looked up without network)."""
    from huggingface_hub import try_to_load_from_cache

    hub = cfg.get("hf_hub", "").strip("/")
    cached = try_to_load_from_cache(hub, "open_clip_model.safetensors") if hub else None
    return Path(cached) if isinstance(cached, str) else None


def load_clip(model_name: str = DEFAULT_MODEL, pretrained: str = DEFAULT_PRETRAINED,
              weights_dir: Path | None = None, device: torch.device | str = "cpu") -> ClipModel:
    """Load a frozen open_clip model; ``pretrained`` is a tag (e.g. ``openai``) or a weights file path.

    A tag is looked up as ``open_clip-<model>-<tag>.safetensors`` in ``weights_dir``, then
    downloaded through open_clip when online; weights are safetensors, never unpickled.
    """
    import open_clip

    device = torch.device(device)
    register_reference_configs()
    if model_name not in open_clip.list_models():
        raise WeightsError(f"open_clip has no model '{model_name}'")
    cfg = open_clip.get_pretrained_cfg(model_name, pretrained)
    if Path(pretrained).is_file():
        path, digest = resolve(WeightsSource(Path(pretrained).name, str(pretrained)), Path(pretrained).parent)
    else:
        if not cfg:
            raise WeightsError(f"open_clip has no pretrained tag '{pretrained}' for {model_name}; "
                               f"give a weights file path instead")
        source = clip_weights_source(model_name, pretrained)

        def download() -> Path:
            # the hub client would retry an unreachable host for a minute; fail at once instead
            check_reachable(hub_endpoint() if cfg.get("hf_hub") else source.url)
            return Path(open_clip.download_pretrained(cfg))

        cached = _hub_cached(cfg) if weights_dir is None else None
        path, digest = (cached, sha256_file(cached)) if cached else resolve(source, weights_dir, download=download)
    if path.suffix != ".safetensors":
        raise WeightsError(f"{path} is not a .safetensors file; genbench does not unpickle CLIP weights")
    try:
        model = open_clip.create_model(model_name, pretrained=str(path), device=device,
                                       force_quick_gelu=bool(cfg.get("quick_gelu", False)),
                                       force_preprocess_cfg={k: cfg[k] for k in PREPROCESS_KEYS if k in cfg})
    except (RuntimeError, AssertionError, KeyError, ValueError) as exc:  # open_clip's state-dict mismatch errors
        raise WeightsError(f"{path} does not fit open_clip model {model_name}: {str(exc).splitlines()[0]}") from None
    model.eval().requires_grad_(False)
    return ClipModel(model, open_clip.get_tokenizer(model_name), model_name, str(pretrained), digest, device)
