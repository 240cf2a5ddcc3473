"""The model plugin contract: what a plugin's model offers and what the runner hands it."""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Sequence

import torch

from genbench.errors import PluginError
from genbench.noise import per_image_normal


class Task(str, enum.Enum):
    """What a model is conditioned on; a protocol asks for one task and only fitting models run."""

    UNCONDITIONAL = "unconditional"
    CLASS_CONDITIONAL = "class-conditional"
    TEXT_TO_IMAGE = "text-to-image"


#: Optional capabilities a model may declare; the harness never guesses them.
CAPABILITIES = frozenset({"interpolation", "reconstruction", "steps", "guidance", "eta"})


@dataclass(frozen=True)
class ImageFormat:
    """Image geometry a protocol fixes and a model must produce."""

    size: int
    channels: int


@dataclass
class SampleBatch:
    """One batch the runner asks for: a seed per image (image i always gets the same noise)
    and, for conditional tasks, a condition per image (class index or caption)."""

    seeds: list[int]
    device: torch.device
    labels: list[int] | None = None
    captions: list[str] | None = None

    def __len__(self) -> int:
        return len(self.seeds)

    def generators(self) -> list[torch.Generator]:
        """One CPU generator per image, seeded by that image's seed."""
        return [torch.Generator("cpu").manual_seed(int(seed)) for seed in self.seeds]

    def randn(self, *shape: int, generators: Sequence[torch.Generator] | None = None) -> torch.Tensor:
        """Standard normal noise of shape ``[N, *shape]``, row i drawn from image i's generator.

        Drawn on the CPU and moved to the device, so the noise is identical on every device
        and whatever the batch size. Pass ``generators`` to keep drawing from the same
        streams across steps (ancestral sampling).
        """
        gens = list(generators) if generators is not None else self.generators()
        return per_image_normal(gens, shape, self.device)


@dataclass
class TrainingData:
    """What ``train`` receives: images as uint8 ``[N, C, H, W]`` plus labels or captions."""

    images: torch.Tensor
    labels: torch.Tensor | None = None
    captions: list[str] | None = None
    num_classes: int | None = None


@dataclass
class TrainingReport:
    """What training cost; recorded in the result."""

    epochs: int
    steps: int
    seconds: float
    seconds_per_epoch: float
    final_loss: float
    recipe: dict[str, Any] = field(default_factory=dict)


class GenerativeModel(ABC):
    """A model a plugin provides. Subclasses set ``task`` and ``capabilities``.

    ``sample`` returns uint8 images ``[N, C, H, W]`` in 0..255; the runner validates every
    batch. Settings (``--set KEY=VALUE``) arrive through ``configure`` and must be declared
    in ``settings`` with their defaults, so unknown keys are rejected before any work.
    """

    task: ClassVar[Task] = Task.UNCONDITIONAL
    capabilities: ClassVar[frozenset[str]] = frozenset()
    #: Sampling-time settings a user may change and their defaults (recorded in results).
    settings: ClassVar[dict[str, Any]] = {}

    def __init__(self) -> None:
        self.setting_values: dict[str, Any] = dict(self.settings)

    @classmethod
    @abstractmethod
    def create(cls, image_format: ImageFormat, config: dict[str, Any], num_classes: int | None = None) -> "GenerativeModel":
        """Build an untrained model for images of ``image_format`` from a plugin config."""

    @classmethod
    @abstractmethod
    def load(cls, path: Path, device: torch.device) -> "GenerativeModel":
        """Load a checkpoint written by ``save`` (or a format the plugin documents)."""

    @abstractmethod
    def save(self, path: Path) -> None:
        """Write a checkpoint (safetensors) that ``load`` reads back to identical samples."""

    @abstractmethod
    def train(self, data: TrainingData, recipe: dict[str, Any], seed: int, device: torch.device,
              progress: bool = True) -> TrainingReport:
        """Train on ``data`` following the protocol's ``recipe``; deterministic for a seed."""

    @abstractmethod
    def sample(self, batch: SampleBatch) -> torch.Tensor:
        """Generate ``len(batch)`` images as uint8 ``[N, C, H, W]``."""

    @property
    @abstractmethod
    def image_format(self) -> ImageFormat:
        """Geometry of the images this model produces."""

    @abstractmethod
    def modules(self) -> dict[str, torch.nn.Module]:
        """Named networks of the model (for device moves and parameter counts)."""

    @property
    def network_evaluations(self) -> int:
        """Network forward passes per generated image (1 for a VAE decoder, T for DDPM)."""
        return 1

    def truncated_captions(self, captions: list[str]) -> int:
        """How many of ``captions`` the model's text encoder cuts to fit its context (recorded in results)."""
        return 0

    def to(self, device: torch.device) -> "GenerativeModel":
        for module in self.modules().values():
            module.to(device)
        return self

    def eval(self) -> "GenerativeModel":
        for module in self.modules().values():
            module.eval()
        return self

    def parameter_counts(self) -> dict[str, int]:
        """All parameters and those that training updates (frozen towers excluded)."""
        params = {id(p): p for m in self.modules().values() for p in m.parameters()}
        return {
            "all": sum(p.numel() for p in params.values()),
            "trainable": sum(p.numel() for p in params.values() if p.requires_grad),
        }

    @classmethod
    def check_settings(cls, values: dict[str, Any]) -> None:
        """Refuse keys not declared in ``settings`` (naming the declared ones) and values of the wrong type."""
        for key, value in values.items():
            if key not in cls.settings:
                declared = ", ".join(sorted(cls.settings)) or "none"
                raise PluginError(f"unknown setting '{key}' (declared settings: {declared})")
            _coerce(key, value, cls.settings[key])

    def configure(self, **values: Any) -> None:
        """Apply sampling settings, checked by ``check_settings``."""
        self.check_settings(values)
        for key, value in values.items():
            self.setting_values[key] = _coerce(key, value, self.settings[key])


def _coerce(key: str, value: Any, default: Any) -> Any:
    """Convert a ``--set`` string to the type of the declared default."""
    if not isinstance(value, str) or isinstance(default, str) or default is None:
        return value
    try:
        if isinstance(default, bool):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        return type(default)(value)
    except ValueError:
        raise PluginError(f"setting '{key}' expects {type(default).__name__}, got '{value}'") from None


@dataclass(frozen=True)
class ModelSpec:
    """What a plugin's ``genbench_models`` hook returns for each model it provides."""

    name: str
    model_class: type[GenerativeModel]
    description: str
    #: Plugin config (network widths, schedule) used when the protocol gives none.
    default_config: dict[str, Any] = field(default_factory=dict)
    #: A tiny config for fast CPU tests, as timm registers ``test_*`` models.
    tiny_config: dict[str, Any] = field(default_factory=dict)

    @property
    def task(self) -> Task:
        return self.model_class.task
