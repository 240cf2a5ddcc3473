"""A small CNN reference classifier: features for Fréchet distance / KID, logits for confidence and IS.

For small grey data sets (digits, Fashion-MNIST) Inception features say little; a classifier
trained on the data set's own training split is the judge there (seed 002). The shipped
weights are fixed by SHA-256 in the protocol so everyone's numbers are comparable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, safe_open

from genbench.datasets.base import ImageDataset
from genbench.errors import WeightsError
from genbench.extractors.base import ExtractorSpec, FeatureExtractor
from genbench.trust.hashing import sha256_file

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"


class ReferenceClassifier(nn.Module):
    """Two conv blocks, a ``feature_dim`` penultimate layer, and class logits.

    The penultimate layer ends in tanh so features lie in (-1, 1): KID's cubic kernel
    ``(x·y/d + 1)^3`` assumes features of order one, as Inception's pool features are.
    """

    def __init__(self, channels: int, num_classes: int, width: int = 32, feature_dim: int = 64):
        super().__init__()
        self.config = {"channels": channels, "num_classes": num_classes, "width": width, "feature_dim": feature_dim}
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4),
            nn.Flatten(), nn.Linear(2 * width * 16, feature_dim), nn.Tanh(),
        )
        self.head = nn.Linear(feature_dim, num_classes)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 images -> (penultimate features, logits)."""
        x = images.float() / 127.5 - 1.0
        features = self.body(x)
        return features, self.head(features)


def train_reference_classifier(images: torch.Tensor, labels: torch.Tensor, num_classes: int,
                               epochs: int = 30, seed: int = 0, batch_size: int = 64,
                               lr: float = 2e-3) -> ReferenceClassifier:
    """Train a ``ReferenceClassifier`` deterministically on uint8 images (CPU, seeded order)."""
    torch.manual_seed(seed)
    model = ReferenceClassifier(images.shape[1], num_classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    order_gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        for index in torch.randperm(len(images), generator=order_gen).split(batch_size):
            _, logits = model(images[index])
            loss = F.cross_entropy(logits, labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


def classifier_accuracy(model: ReferenceClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of images whose argmax logit is the label."""
    with torch.no_grad():
        _, logits = model(images)
    return float((logits.argmax(1) == labels).float().mean())


def build_reference_classifier(train: ImageDataset, test: ImageDataset, path: Path,
                               epochs: int = 30) -> tuple[float, str]:
    """Train a reference classifier on ``train`` (seed 0, one thread, so a machine and library version give the
    same bytes every time), write it to ``path`` and return its accuracy on ``test`` and the file's SHA-256 (what
    a protocol pins; the pinned file is the one shipped, not whatever a rebuild elsewhere writes)."""
    torch.set_num_threads(1)
    model = train_reference_classifier(train.images, train.labels, num_classes=int(train.num_classes), epochs=epochs,
                                       seed=0)
    save_classifier(model, path)
    return classifier_accuracy(model, test.images, test.labels), sha256_file(path)


def save_classifier(model: ReferenceClassifier, path: Path) -> None:
    """Write weights and architecture (in the safetensors metadata) to one file."""
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path),
              metadata={"genbench.classifier": json.dumps(model.config)})


def load_classifier(path: Path) -> ReferenceClassifier:
    """Read a classifier written by ``save_classifier`` (no unpickling)."""
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    if "genbench.classifier" not in metadata:
        raise WeightsError(f"{path} is not a genbench reference classifier (no 'genbench.classifier' metadata)")
    model = ReferenceClassifier(**json.loads(metadata["genbench.classifier"]))
    model.load_state_dict(load_file(str(path)))
    return model.eval()


class ClassifierExtractor(FeatureExtractor):
    """Features ``penultimate`` and ``logits`` of a reference classifier, in float64."""

    feature_names = ("penultimate", "logits")

    def __init__(self, model: ReferenceClassifier, sha256: str, device: torch.device):
        self.model = model.to(device)
        self.device = device
        self._sha256 = sha256

    @property
    def weights_sha256(self) -> str:
        return self._sha256

    def extract(self, images: torch.Tensor, captions: list[str] | None = None) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            features, logits = self.model(images.to(self.device))
        return {"penultimate": features.double().cpu(), "logits": logits.double().cpu()}


def build_classifier_extractor(settings: dict[str, Any], context: Any) -> ClassifierExtractor:
    """Load the weights named in the protocol and check them against the protocol's SHA-256."""
    name = settings.get("weights")
    if not name:
        raise WeightsError("classifier extractor needs a 'weights' file name in the protocol")
    candidates = [Path(name)] if Path(name).is_absolute() else [REFERENCE_DIR / name]
    if getattr(context, "weights_dir", None):
        candidates.insert(0, Path(context.weights_dir) / name)
    path = next((p for p in candidates if p.exists()), None)
    if path is None:
        raise WeightsError(f"reference classifier weights '{name}' not found (looked in: "
                           f"{', '.join(str(p.parent) for p in candidates)})")
    digest = sha256_file(path)
    expected = settings.get("sha256")
    if expected and digest != expected:
        raise WeightsError(f"reference classifier {path} has SHA-256 {digest[:16]}..., "
                           f"the protocol expects {expected[:16]}...")
    return ClassifierExtractor(load_classifier(path), digest, context.device)


CLASSIFIER = ExtractorSpec(
    name="classifier",
    description="small CNN reference classifier (penultimate features, logits) with pinned weights",
    build=build_classifier_extractor,
    #: ``test_accuracy`` records the shipped weights' measured accuracy; it is not used to compute anything.
    settings={"weights": None, "sha256": None, "test_accuracy": None},
)
