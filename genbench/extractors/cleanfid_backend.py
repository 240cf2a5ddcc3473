"""clean-fid's feature backend: its resize and its Inception feature model, in one of its three modes.

- ``clean`` (clean-fid's default): PIL bicubic resize of each channel in float to 299×299, then
  the TorchScript Inception (``inception-2015-12-05.pt``) without further resizing;
- ``legacy_tensorflow``: no resize outside; the TorchScript model resizes inside, as TF-FID did;
- ``legacy_pytorch``: torch bilinear resize (``align_corners=False``), then pytorch-fid's Inception.

Grey images are repeated to three channels first (clean-fid reads files with ``convert('RGB')``).
The network is made by clean-fid's own ``build_feature_extractor``; genbench only points the two
places where clean-fid fetches weights at the file it located and checked.
"""

from __future__ import annotations

import pickle
import platform
from contextlib import ExitStack
from importlib.metadata import version
from pathlib import Path
from typing import Any, Callable
from unittest import mock

import numpy as np
import torch

from genbench.errors import ProtocolError, WeightsError
from genbench.extractors.base import ExtractorSpec, FeatureExtractor
from genbench.extractors.inception import (OFFICIAL_INCEPTION_SHA256, check_pinned_sha256, hub_checkpoints,
                                           resolve_hub_weights, three_channels)
from genbench.storage.downloads import download_directory
from genbench.storage.weights import WeightsSource, resolve, weights_dir_from_env

MODES = ("clean", "legacy_tensorflow", "legacy_pytorch")


def torchscript_inception() -> WeightsSource:
    """NVIDIA's TorchScript translation of TensorFlow's Inception (clean / legacy_tensorflow modes). No official
    SHA-256 is published with it, so genbench pins none: using it needs --trust-weights."""
    from cleanfid import downloads_helper  # clean-fid imports torchvision: only when its extractor is used

    return WeightsSource(filename="inception-2015-12-05.pt", url=downloads_helper.inception_url, sha256=None,
                         unpickled=True)


def pytorch_fid_inception() -> WeightsSource:
    """pytorch-fid's weights (legacy_pytorch mode); genbench reads them with weights_only=True."""
    from cleanfid import inception_pytorch

    return WeightsSource(filename="pt_inception-2015-12-05-6726825d.pth", url=inception_pytorch.FID_WEIGHTS_URL,
                         sha256=OFFICIAL_INCEPTION_SHA256)


def _cleanfid_download_dir() -> Path:
    """Where clean-fid itself downloads the TorchScript model."""
    return Path("./" if platform.system() == "Windows" else "/tmp")


def _resolve_torchscript(context: Any) -> tuple[Path, str]:
    from cleanfid import downloads_helper

    def download() -> Path:
        with download_directory(hub_checkpoints()) as directory:
            return Path(downloads_helper.check_download_inception(fpath=str(directory)))

    return resolve(torchscript_inception(), weights_dir_from_env(context.weights_dir),
                   [hub_checkpoints(), _cleanfid_download_dir()],
                   download, context.trust_weights)


def build_cleanfid_network(mode: str, path: Path, device: torch.device) -> Callable[[torch.Tensor], torch.Tensor]:
    """clean-fid's feature function for ``mode``, its weights read from ``path`` instead of fetched."""
    from cleanfid import features, inception_pytorch
    from cleanfid.inception_torchscript import InceptionV3W

    def torchscript(_folder: str, download: bool = True, resize_inside: bool = False):
        return InceptionV3W(str(path.parent), download=False, resize_inside=resize_inside)

    def state_dict(_url: str, progress: bool = False):
        return torch.load(path, map_location="cpu", weights_only=True)

    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(features, "InceptionV3W", torchscript))
        stack.enter_context(mock.patch.object(inception_pytorch, "load_state_dict_from_url", state_dict))
        return features.build_feature_extractor(mode, device, use_dataparallel=False)


class CleanFidExtractor(FeatureExtractor):
    """clean-fid's resize and Inception, image by image as its ``ResizeDataset`` does; 2048-d float64 out."""

    feature_names = ("2048",)

    def __init__(self, mode: str, network: Callable[[torch.Tensor], torch.Tensor], sha256: str, device: torch.device):
        import torchvision
        from cleanfid.resize import build_resizer

        self.mode = mode
        self.network = network
        self.device = device
        self.resize = build_resizer(mode)
        self.to_tensor = torchvision.transforms.ToTensor()
        self._sha256 = sha256

    @property
    def weights_sha256(self) -> str:
        return self._sha256

    def prepare(self, image: np.ndarray) -> torch.Tensor:
        """One HWC uint8 image -> clean-fid's network input (``ResizeDataset.__getitem__`` after reading)."""
        resized = self.resize(image)
        if resized.dtype == np.uint8:
            return self.to_tensor(np.array(resized)) * 255
        return self.to_tensor(resized)

    def extract(self, images: torch.Tensor, captions: list[str] | None = None) -> dict[str, torch.Tensor]:
        hwc = three_channels(images, "cleanfid").cpu().permute(0, 2, 3, 1).numpy()  # clean resize is PIL, on the CPU
        batch = torch.stack([self.prepare(image) for image in hwc])
        with torch.no_grad():
            rows = self.network(batch.to(self.device))
        return {"2048": rows.double().cpu()}

    def describe(self) -> dict[str, Any]:
        return {"weights_sha256": self._sha256, "library": f"clean-fid {version('clean-fid')}", "mode": self.mode,
                "grey": "grey repeated to 3 channels (as PIL convert('RGB'))"}


def build_cleanfid_extractor(settings: dict[str, Any], context: Any) -> CleanFidExtractor:
    """The protocol's ``mode`` (default ``clean``) with its weights file located and checked."""
    mode = settings.get("mode", "clean")
    if mode not in MODES:
        raise ProtocolError(f"extractor kind 'cleanfid': mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "legacy_pytorch":
        path, digest = resolve_hub_weights(pytorch_fid_inception(), context)
    else:
        path, digest = _resolve_torchscript(context)
    check_pinned_sha256(settings, digest, path)
    try:
        network = build_cleanfid_network(mode, path, context.device)
    except (RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise WeightsError(f"{path} does not fit clean-fid's {mode} Inception: {str(exc).splitlines()[0]}") from None
    return CleanFidExtractor(mode, network, digest, context.device)


CLEANFID = ExtractorSpec(
    name="cleanfid",
    description="clean-fid's resize and Inception features (mode clean / legacy_tensorflow / legacy_pytorch)",
    build=build_cleanfid_extractor,
    settings={"mode": "clean", "sha256": None},
)
