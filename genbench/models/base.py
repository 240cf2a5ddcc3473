"""The model plugin contract: what a plugin's model offers and what the runner hands it."""

from __future__ import annotations

import enum
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Sequence

import torch

from genbench.errors import GenbenchError, PluginError
from genbench.models.noise import per_image_normal


class Task(str, enum.Enum):
    """What a model is conditioned on; a protocol asks for one task and only fitting models run."""

    UNCONDITIONAL = "unconditional"
    CLASS_CONDITIONAL = "class-conditional"
    TEXT_TO_IMAGE = "text-to-image"


#: Optional capabilities a model may declare; the harness never guesses them.
CAPABILITIES = frozenset({"interpolation", "reconstruction", "steps", "guidance", "eta", "precision"})
#: Capabilities that are sampling settings: a model declares one exactly when ``settings`` declares it,
#: so what a result lists as a capability is what ``--set`` accepts.
SETTING_CAPABILITIES = frozenset({"steps", "guidance", "eta", "precision"})


@dataclass(frozen=True)
class ImageFormat:
    """Image geometry a protocol fixes and a model must produce."""

    size: int
    channels: int

    def check(self, images: Any, where: str, count: int | None = None,
              error: type[GenbenchError] = PluginError, owner: str = "the protocol") -> torch.Tensor:
        """``images`` when they are uint8 ``[count, C, H, W]`` in this format (a plugin's batch, a data set's
        images); else one ``error`` line that starts with ``where`` (the plugin and hook, or the data set) and
        names ``owner``, whose format this is."""
        if not hasattr(images, "dtype") or not hasattr(images, "shape"):
            raise error(f"{where} returned {type(images).__name__}, expected a torch.Tensor")
        if images.dtype.is_floating_point:
            detail = ""
            if isinstance(images, torch.Tensor):
                finite = bool(torch.isfinite(images).all())
                detail = " (contains NaN/Inf)" if not finite else \
                    f" (values in [{images.min().item():.3g}, {images.max().item():.3g}])"
            raise error(f"{where} returned dtype {images.dtype}{detail}; expected uint8 images in 0..255")
        if images.dtype != torch.uint8:
            raise error(f"{where} returned dtype {images.dtype}; expected uint8 images in 0..255")
        if len(images.shape) != 4:
            raise error(f"{where} returned shape {tuple(images.shape)}; expected [N, C, H, W]")
        n, c, h, w = images.shape
        if count is not None and n != count:
            raise error(f"{where} returned {n} images; {count} were asked for")
        if c != self.channels:
            raise error(f"{where} returned {c} channels; {owner} needs {self.channels}")
        if (h, w) != (self.size, self.size):
            raise error(f"{where} returned {h}x{w} images; {owner} needs {self.size}x{self.size}")
        return images


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

    def randn(self, *shape: int | Sequence[int], generators: Sequence[torch.Generator] | None = None) -> torch.Tensor:
        """Standard normal noise of shape ``[N, *shape]``, row i drawn from image i's generator.

        Drawn on the CPU and moved to the device, so the noise is identical on every device
        and whatever the batch size. The shape is given as ``torch.randn`` takes it: ``randn(4, 64, 64)``
        or ``randn((4, 64, 64))``. Pass ``generators`` to keep drawing from the same streams across
        steps (ancestral sampling).
        """
        if len(shape) == 1 and isinstance(shape[0], Sequence):
            shape = tuple(shape[0])
        gens = list(generators) if generators is not None else self.generators()
        return per_image_normal(gens, shape, self.device)


@dataclass
class TrainingData:
    """What ``train`` receives: the protocol's ``data.train_split`` at the protocol's image size.

    ``images`` is a uint8 tensor ``[N, C, H, W]`` (0..255, on the CPU); ``labels`` an int64 tensor
    ``[N]`` with ``num_classes`` for labelled sets, else None; ``captions`` one string per image for
    captioned sets, else None.
    """

    images: torch.Tensor
    labels: torch.Tensor | None = None
    captions: list[str] | None = None
    num_classes: int | None = None


@dataclass
class TrainingReport:
    """What ``train`` returns: what training cost, recorded in the result (``training``).

    The runner adds the recipe it handed over (``recipe``, under what the plugin reports) and
    where it came from (``recipe_source``: the protocol's ``[training.NAME]``, the plugin's
    ``ModelSpec.default_recipe`` or the protocol's ``[training.default]``, plus ``--set train.*``).
    """

    epochs: int
    steps: int
    seconds: float
    seconds_per_epoch: float
    final_loss: float
    recipe: dict[str, Any] = field(default_factory=dict)
    recipe_source: str | None = None


class SettingValues(dict):
    """A model's settings (``GenerativeModel.setting_values``) that note which ones the model reads.

    A plugin that takes a setting from somewhere else (its config) would have results record a
    value it never used; the runner refuses a run whose model never read a declared setting after
    ``configure()`` (``check_settings_read``). Reading means ``values[key]``, ``get``, iterating,
    ``items()``/``values()``/``keys()`` or unpacking (``**values``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __iter__(self):
        self.read.update(dict.keys(self))
        return super().__iter__()

    def keys(self):
        self.read.update(dict.keys(self))
        return super().keys()

    def values(self):
        self.read.update(dict.keys(self))
        return super().values()

    def items(self):
        self.read.update(dict.keys(self))
        return super().items()

    def recorded(self) -> dict[str, Any]:
        """A plain copy for the harness (run key, result record) that does not count as the model reading."""
        return {key: dict.__getitem__(self, key) for key in dict.keys(self)}


def recorded_settings(model: "GenerativeModel") -> dict[str, Any]:
    """The settings a result records for ``model``, read without counting as the model's own reads."""
    values = model.setting_values
    return values.recorded() if isinstance(values, SettingValues) else dict(values)


def check_settings_read(model: "GenerativeModel", plugin: str) -> None:
    """Refuse a run whose model never read a declared setting from ``self.setting_values`` after ``configure()``.

    Call after the model has sampled: the setting's recorded value would not be the one it used.
    """
    values = getattr(model, "setting_values", None)
    if not isinstance(values, SettingValues):
        return
    unread = [key for key in type(model).settings if key not in values.read]
    if unread:
        key = unread[0]
        raise PluginError(f"plugin '{plugin}' declares setting '{key}' but never read it from self.setting_values "
                          f"after configure(), so the recorded {key}={dict.get(values, key)!r} may not be what it "
                          f"used; read settings from self.setting_values (see genbench.models.base.GenerativeModel)")


class GenerativeModel(ABC):
    """A model a plugin provides. Subclasses set ``task`` and ``capabilities``.

    The runner's calls, in order: ``task_of(checkpoint)`` while it plans, ``create(image_format, config,
    num_classes)`` then ``train(TrainingData, recipe, seed, device)`` and ``save(path)`` — or ``load(path, device)``
    for ``--checkpoint`` and for a checkpoint it trained before —, then ``prefer_format(image_format)`` and
    ``configure(**settings)`` once, then ``sample(SampleBatch)`` batch after batch. ``sample`` returns uint8 images
    ``[N, C, H, W]`` in 0..255 drawn only from ``batch.randn`` / ``batch.generators()``; the runner
    validates every batch.

    Settings (``--set KEY=VALUE``) must be declared in ``settings`` with their defaults (unknown keys
    and wrong types are refused before any work); after ``configure()`` they are in
    ``self.setting_values``, typed like the defaults, and that is where the model must read them:
    the result records ``self.setting_values``, and a run whose model never read a declared setting
    there after ``configure()`` is refused (``check_settings_read``). Never read them from the config.
    What ``self.setting_values`` holds before ``configure()`` are the model's defaults (a loaded pipeline may
    put its own there): the result records them as ``default_settings``, and the leaderboard names a run by
    the settings that differ from them.
    """

    task: ClassVar[Task] = Task.UNCONDITIONAL
    capabilities: ClassVar[frozenset[str]] = frozenset()
    #: Sampling-time settings a user may change and their defaults (recorded in results).
    settings: ClassVar[dict[str, Any]] = {}

    def __init__(self) -> None:
        self.setting_values: SettingValues = SettingValues(self.settings)

    @classmethod
    def task_of(cls, checkpoint: Path | None) -> Task:
        """The task of the model ``checkpoint`` holds, read before anything loads (the runner compares it with
        the protocol's): ``task`` unless the checkpoint decides it, as a diffusers pipeline's ``__call__`` does."""
        return cls.task

    @classmethod
    @abstractmethod
    def create(cls, image_format: ImageFormat, config: dict[str, Any], num_classes: int | None = None) -> "GenerativeModel":
        """Build an untrained model for images of ``image_format``.

        ``config`` is ``ModelSpec.default_config`` updated with the recipe's ``config``;
        ``num_classes`` is the training set's class count (None when it has no labels).
        """

    @classmethod
    @abstractmethod
    def load(cls, path: Path, device: torch.device) -> "GenerativeModel":
        """Return a model ready to sample, on ``device``, from a checkpoint written by ``save``.

        ``genbench.models.checkpoints.load_checkpoint(path, plugin_name)`` reads one written by
        ``save_checkpoint`` and returns a ``Checkpoint(plugin, config, tensors, extra)``: the config
        to rebuild the networks with and their tensors by ``network.parameter`` name (what
        ``genbench.models.kit.NetworkModel`` does for you). Never unpickle: use safetensors.
        """

    @abstractmethod
    def save(self, path: Path) -> None:
        """Write a checkpoint (safetensors, e.g. ``genbench.models.checkpoints.save_checkpoint``) that ``load`` reads
        back to identical samples."""

    @abstractmethod
    def train(self, data: TrainingData, recipe: dict[str, Any], seed: int, device: torch.device,
              progress: bool = True) -> TrainingReport:
        """Train on ``data`` (``TrainingData``: uint8 images, labels or captions) following ``recipe``.

        ``recipe`` is the protocol's ``[training.NAME]`` (or ``ModelSpec.default_recipe``) with ``--set
        train.*`` applied and ``config`` removed (it went to ``create``). Deterministic for a ``seed``;
        ``genbench.models.training.fit`` runs the shared loop and returns the ``TrainingReport``.
        """

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

    def prefer_format(self, image_format: ImageFormat) -> None:
        """Told the protocol's geometry after ``create``/``load`` and before ``configure``: a model whose output size
        is free (a pipeline that takes a height and width) makes it its default; the others need do nothing. What
        ``image_format`` then says is what ``sample`` returns; the harness converts it to the protocol's
        (``genbench.evaluation.conversion``) and records that it did."""

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
    def check_settings(cls, values: dict[str, Any], config: dict[str, Any] | None = None) -> None:
        """Refuse keys not declared in ``settings`` (naming the declared ones) and values of the wrong type.

        ``config`` is the config a model is about to be created with (None when a checkpoint is loaded): a plugin
        whose valid values depend on it (DDIM's step count and its schedule) checks them here, before training.
        """
        for key, value in values.items():
            if key not in cls.settings:
                declared = ", ".join(sorted(cls.settings)) or "none"
                raise PluginError(f"unknown setting '{key}' (declared settings: {declared})")
            coerce_setting(key, value, cls.settings[key])

    @classmethod
    def settings_with(cls, values: dict[str, Any]) -> dict[str, Any]:
        """The declared settings with ``values`` (``--set`` strings or values) applied in their declared types."""
        given = {key: coerce_setting(key, value, cls.settings[key]) for key, value in values.items() if key in cls.settings}
        return {**cls.settings, **given}

    def configure(self, **values: Any) -> None:
        """Apply sampling settings, checked by ``check_settings``, to ``self.setting_values``.

        The runner calls it once, after ``create``/``load`` and before any ``sample``, with the
        user's ``--set`` values (none: the declared defaults stay). Reads of ``setting_values``
        before this call do not count as using a setting: read them in ``sample`` (or in an
        override of ``configure`` after calling this one).
        """
        self.check_settings(values)
        if not isinstance(self.setting_values, SettingValues):
            self.setting_values = SettingValues(self.setting_values)
        for key, value in values.items():
            self.setting_values[key] = coerce_setting(key, value, self.settings[key])
        self.setting_values.read.clear()


def coerce_setting(key: str, value: Any, default: Any) -> Any:
    """Convert a ``--set`` string to the type of ``default`` (left as it is when the default is a string or None)."""
    if not isinstance(value, str) or isinstance(default, str) or default is None:
        return value
    try:
        if isinstance(default, bool):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        converted = type(default)(value)
    except ValueError:
        raise PluginError(f"setting '{key}' expects {type(default).__name__}, got '{value}'") from None
    if isinstance(converted, float) and not math.isfinite(converted):
        raise PluginError(f"setting '{key}' must be a finite number, got '{value}'")
    return converted


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
    #: The plugin's own training recipe (keys of a protocol's ``[training.NAME]``: epochs, batch_size,
    #: lr, ..., config), used when the protocol has no ``[training.<name>]`` for this model, so the
    #: model trains on any protocol without editing it. Beats the protocol's ``[training.default]``;
    #: the protocol's own recipe for the model wins. The result records which one was used.
    default_recipe: dict[str, Any] | None = None

    @property
    def task(self) -> Task:
        return self.model_class.task

    @property
    def task_from_checkpoint(self) -> bool:
        """True when the model class reads its task from the checkpoint (overrides ``task_of``: diffusers pipelines)."""
        return self.model_class.task_of.__func__ is not GenerativeModel.task_of.__func__

    @property
    def task_label(self) -> str:
        """The task as ``genbench list`` and docs/models.md show it: "from the checkpoint" or the declared task."""
        return "from the checkpoint" if self.task_from_checkpoint else self.task.value
