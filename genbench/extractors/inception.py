"""torch-fidelity's InceptionV3 (``inception-v3-compat``): the network behind FID, KID, IS and precision/recall.

Images go in as uint8. Grey images are repeated to three identical channels (what PIL's
``convert("RGB")`` does, so a grey PNG folder gives the same features through torch-fidelity's
own loader). torch-fidelity then resizes every image to 299×299 inside the network with its
TensorFlow-1.x-compatible bilinear interpolation (``align_corners=False``) and scales pixels
to ``(x - 128) / 128``; genbench does no resizing of its own, unless a protocol asks for a
``resize`` first (seed 000's KID on 75x75 images: resized to 75x75, then to 299x299 inside the
network, since torch-fidelity's InceptionV3 always runs at 299x299).
"""

from __future__ import annotations

import pickle
from contextlib import nullcontext
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from genbench.errors import ProtocolError, WeightsError
from genbench.extractors.base import ExtractorSpec, FeatureExtractor
from genbench.extractors.inception_spatial import SPATIAL, SPATIAL_SOURCE, captured_spatial
from genbench.storage.downloads import download_directory
from genbench.storage.weights import WeightsSource, resolve, weights_dir_from_env

if TYPE_CHECKING:
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

#: The weights torch-fidelity downloads (converted from TensorFlow's 2015-12-05 release). The same
#: file is pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth``; its name carries the hash prefix.
OFFICIAL_INCEPTION_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
DEFAULT_FEATURES = ("2048", "logits_unbiased")
#: The network's output read when only ``spatial`` is asked for: the first after ``Mixed_6d`` (then it stops).
SPATIAL_ONLY_OUTPUT = "768"
RESIZE = "torch-fidelity: bilinear to 299x299 as TensorFlow 1.x (align_corners=False), inside the network"
GREY = "grey repeated to 3 channels (as PIL convert('RGB'))"
PRE_RESIZE = "first bilinear to {size}x{size} (align_corners=False, no antialias, as Keras' Resizing), rounded to uint8"


def torch_fidelity_inception() -> WeightsSource:
    """The weights file torch-fidelity downloads, and where from (torch-fidelity is imported only here and where the
    network is built: it imports torchvision, seconds that listing plugins need not pay)."""
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    return WeightsSource(filename="weights-inception-2015-12-05-6726825d.pth", url=URL_INCEPTION_V3,
                         sha256=OFFICIAL_INCEPTION_SHA256,
                         unpickled=True)  # torch-fidelity loads it with torch.load(weights_only=False)


def pre_resize(images: torch.Tensor, size: int | None) -> torch.Tensor:
    """An optional resize before the network (seed 000 measures KID on 75x75 images); uint8 in and out."""
    if size is None or tuple(images.shape[-2:]) == (size, size):
        return images
    resized = F.interpolate(images.float(), size=(size, size), mode="bilinear", align_corners=False)
    return resized.round().clamp(0, 255).to(torch.uint8)


def three_channels(images: torch.Tensor, extractor: str) -> torch.Tensor:
    """uint8 ``[N, 3, H, W]``: grey images get their one channel repeated; other channel counts are errors."""
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ProtocolError(f"extractor '{extractor}' takes grey or RGB images [N, 1|3, H, W], "
                            f"got shape {tuple(images.shape)}")
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


def hub_checkpoints() -> Path:
    """torch hub's checkpoint cache, where torch-fidelity and pytorch-fid keep downloaded weights."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def resolve_hub_weights(source: WeightsSource, context: Any) -> tuple[Path, str]:
    """Weights dir, then torch hub's cache, then a download into that cache (online only)."""

    def download() -> Path:
        with download_directory(hub_checkpoints()) as directory:
            torch.hub.download_url_to_file(source.url, str(directory / source.filename), progress=False)
        return directory / source.filename

    return resolve(source, weights_dir_from_env(context.weights_dir), [hub_checkpoints()], download,
                   context.trust_weights)


def network_features(features: tuple[str, ...]) -> tuple[str, ...]:
    """The outputs to ask torch-fidelity's network for: the features but ``spatial`` (read by a hook), never none."""
    return tuple(f for f in features if f != SPATIAL) or (SPATIAL_ONLY_OUTPUT,)


def check_pinned_sha256(settings: dict[str, Any], digest: str, path: Path) -> None:
    """A protocol may pin the weights' SHA-256 (``sha256 = ...``); a different file is refused."""
    expected = settings.get("sha256")
    if expected and digest != expected:
        raise WeightsError(f"{path} has SHA-256 {digest[:16]}..., the protocol expects {expected[:16]}...")


class InceptionExtractor(FeatureExtractor):
    """torch-fidelity's network on the run's device; features come back float64 on the CPU."""

    def __init__(self, network: "FeatureExtractorInceptionV3", features: tuple[str, ...], sha256: str,
                 device: torch.device, resize: int | None = None):
        self.network = network.to(device)
        self.feature_names = features
        self.device = device
        self._sha256 = sha256
        self.resize = resize

    @property
    def weights_sha256(self) -> str:
        return self._sha256

    def extract(self, images: torch.Tensor, captions: list[str] | None = None) -> dict[str, torch.Tensor]:
        capture = captured_spatial(self.network) if SPATIAL in self.feature_names else nullcontext([])
        with torch.no_grad(), capture as spatial:
            rows = self.network(pre_resize(three_channels(images, "inception").to(self.device), self.resize))
        named = {**dict(zip(self.network.features_list, rows)), **dict(zip([SPATIAL], spatial))}
        return {name: named[name].double().cpu() for name in self.feature_names}

    def describe(self) -> dict[str, Any]:
        return {"weights_sha256": self._sha256, "library": f"torch-fidelity {version('torch-fidelity')}",
                "network": "inception-v3-compat", "features": list(self.feature_names),
                "resize": RESIZE if self.resize is None else f"{PRE_RESIZE.format(size=self.resize)}; then {RESIZE}",
                "grey": GREY, **({SPATIAL: SPATIAL_SOURCE} if SPATIAL in self.feature_names else {})}


def build_inception_extractor(settings: dict[str, Any], context: Any) -> InceptionExtractor:
    """torch-fidelity's ``FeatureExtractorInceptionV3`` with checked weights; ``features`` picks its outputs."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    resize = settings.get("resize")
    if resize is not None and (not isinstance(resize, int) or isinstance(resize, bool) or resize < 1):
        raise ProtocolError(f"extractor kind 'inception' setting 'resize' must be a positive integer, got {resize!r}")
    features = tuple(settings.get("features", DEFAULT_FEATURES))
    provided = (*FeatureExtractorInceptionV3.get_provided_features_list(), SPATIAL)
    bad = [f for f in features if f not in provided]
    if bad or not features:
        raise ProtocolError(f"extractor kind 'inception' has no feature '{bad[0] if bad else ''}' "
                            f"(features: {', '.join(provided)})")
    path, digest = resolve_hub_weights(torch_fidelity_inception(), context)
    check_pinned_sha256(settings, digest, path)
    try:
        network = FeatureExtractorInceptionV3("inception-v3-compat", list(network_features(features)),
                                              feature_extractor_weights_path=str(path))
    except (RuntimeError, KeyError, EOFError, pickle.UnpicklingError) as exc:
        raise WeightsError(f"{path} does not fit torch-fidelity's InceptionV3: {str(exc).splitlines()[0]}") from None
    return InceptionExtractor(network, features, digest, context.device, resize)


INCEPTION = ExtractorSpec(
    name="inception",
    description="torch-fidelity InceptionV3 (inception-v3-compat): 2048-d pool features and unbiased logits; "
                "'spatial' gives sFID's 2 023 mixed_6/conv values",
    build=build_inception_extractor,
    settings={"features": list(DEFAULT_FEATURES), "sha256": None, "resize": None},
)
