"""A base for models made of torch networks: checkpointing, device moves and the shared training loop.

A plugin subclasses ``NetworkModel``, sets ``plugin_name``, builds its networks from a config
in ``build_networks`` and defines ``loss`` and ``sample``; saving, loading and training are
the same for every such model.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import torch

from genbench.errors import PluginError
from genbench.models.base import GenerativeModel, ImageFormat, SampleBatch, Task, TrainingData, TrainingReport
from genbench.models.checkpoints import load_checkpoint, load_module_state, module_tensors, save_checkpoint
from genbench.models.training import fit


class NetworkModel(GenerativeModel):
    """A ``GenerativeModel`` whose state is a dict of named ``nn.Module`` built from ``config``."""

    plugin_name: ClassVar[str]
    #: Other plugins whose checkpoints this model also loads (ddim reads ddpm's).
    loads_checkpoints_of: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        self.config = dict(config)
        self.networks: dict[str, torch.nn.Module] = self.build_networks(self.config)
        self.eval()

    @classmethod
    def create(cls, image_format: ImageFormat, config: dict[str, Any], num_classes: int | None = None) -> "NetworkModel":
        full = dict(config, image_size=image_format.size, channels=image_format.channels)
        if num_classes is not None:
            full["num_classes"] = num_classes
        return cls(full)

    @abstractmethod
    def build_networks(self, config: dict[str, Any]) -> dict[str, torch.nn.Module]:
        """Construct the (randomly initialised) networks for ``config``."""

    def loss(self, images: torch.Tensor, labels: torch.Tensor | None, captions: list[str] | None) -> torch.Tensor:
        """Training loss on a batch of uint8 images (and their conditions) for the one-optimiser loop.

        Models with several optimisers (GANs) override ``train`` with ``fit_steps`` instead.
        """
        raise PluginError(f"plugin '{self.plugin_name}' defines no single training loss")

    @property
    def num_classes(self) -> int:
        """The class count a class-conditional model was created for; without one, an error naming the plugin."""
        classes = self.config.get("num_classes")
        if not classes:
            raise PluginError(f"plugin '{self.plugin_name}' is class-conditional and needs a labelled training split "
                              f"(its data set gave no classes)")
        return int(classes)

    def sampling_classes(self, batch: SampleBatch) -> torch.Tensor | None:
        """The classes ``batch`` asks for, on the model's device, for a class-conditional model (None for others);
        none, or one the model was not trained on, is an error."""
        if self.task != Task.CLASS_CONDITIONAL:
            return None
        if batch.labels is None:
            raise PluginError(f"plugin '{self.plugin_name}' is class-conditional: sample() needs batch.labels")
        outside = [label for label in batch.labels if not 0 <= int(label) < self.num_classes]
        if outside:
            raise PluginError(f"plugin '{self.plugin_name}' was trained on {self.num_classes} classes, "
                              f"asked for class {outside[0]}")
        return torch.tensor([int(label) for label in batch.labels], dtype=torch.long, device=self.device)

    @property
    def image_format(self) -> ImageFormat:
        return ImageFormat(self.config["image_size"], self.config["channels"])

    @property
    def device(self) -> torch.device:
        return next(iter(self.networks.values())).parameters().__next__().device

    def modules(self) -> dict[str, torch.nn.Module]:
        return self.networks

    def trainable_modules(self) -> dict[str, torch.nn.Module]:
        """Networks the training loop updates (all by default; frozen towers are left out)."""
        return self.networks

    def train(self, data: TrainingData, recipe: dict[str, Any], seed: int, device: torch.device,
              progress: bool = True) -> TrainingReport:
        self.to(device)
        return fit(self.trainable_modules(), self.loss, data, recipe, seed, device, progress,
                   desc=f"training {self.plugin_name}")

    def save(self, path: Path) -> None:
        save_checkpoint(path, self.plugin_name, self.config, module_tensors(self.networks))

    @classmethod
    def load(cls, path: Path, device: torch.device) -> "NetworkModel":
        checkpoint = load_checkpoint(path, cls.plugin_name, also=cls.loads_checkpoints_of)
        model = cls(checkpoint.config)
        for name, module in model.networks.items():
            load_module_state(module, checkpoint.tensors, name, path)
        return model.to(device).eval()


def to_uint8(images: torch.Tensor, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    """Map float images in [low, high] to uint8 0..255 (clamped, rounded)."""
    scaled = (images.float() - low) / (high - low)
    return (scaled.clamp(0, 1) * 255).round().to(torch.uint8)


def from_uint8(images: torch.Tensor, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    """Map uint8 0..255 images to floats in [low, high]."""
    return images.float() / 255.0 * (high - low) + low
