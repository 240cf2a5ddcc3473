"""Any diffusers ``DiffusionPipeline`` as a genbench model: ``genbench run --plugin diffusers --checkpoint X``.

``X`` is a folder saved by ``save_pretrained`` or a hub id ``org/name[@revision]`` (``pipeline_source``); the
task comes from the pipeline's ``__call__``. Image *i* is generated from its own ``torch.Generator`` seeded by
genbench's seed for it (diffusers takes one generator per image), with its caption (``prompt``) or class
(``class_labels``), so the batch never changes an image. The pipeline returns floats in [0, 1] that become uint8
as diffusers' own ``numpy_to_pil`` rounds them. A Stable Diffusion safety checker is not loaded: it would blacken
images it flags, and the metrics must see what the model generated (the config records that it was left out).

Settings (``--set``) start at the pipeline's own defaults, read from its ``__call__``: ``steps``
(``num_inference_steps``), ``guidance`` (``guidance_scale``, classifier-free guidance above 1), ``scheduler`` (any
diffusers scheduler class, built with ``from_config`` from the pipeline's scheduler config), ``negative_prompt``,
``precision`` (autocast, as for every plugin) and ``height``/``width`` (the protocol's size where the pipeline
takes them; images of any other size are resized by the harness). A setting the pipeline has no parameter for
is refused. Network evaluations are counted, not assumed: the rows that pass through the denoiser (``unet`` or
``transformer``) per image, so classifier-free guidance counts twice and a scheduler's extra steps count too.
"""

from __future__ import annotations

import logging
from inspect import Parameter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from genbench.errors import PluginError, WeightsError
from genbench.models.base import (GenerativeModel, ImageFormat, ModelSpec, SampleBatch, SettingValues, Task,
                                  TrainingReport, coerce_setting)
from genbench.models.kit import to_uint8
from genbench.models.precision import PrecisionSetting
from genbench.registry.hookspecs import hookimpl
from genbench.storage.downloads import failure_reason
from genbench_models.pipeline_source import (PipelineSource, call_parameters, loaded_components, pipeline_class,
                                             pipeline_task)

if TYPE_CHECKING:  # diffusers takes seconds to import: only where a pipeline is loaded
    from diffusers import DiffusionPipeline

#: Settings and the ``__call__`` parameter each one sets (None: applies to every pipeline).
PARAMETERS = {"steps": "num_inference_steps", "guidance": "guidance_scale", "negative_prompt": "negative_prompt",
              "height": "height", "width": "width", "scheduler": None, "precision": None}
#: A value of each setting's type, for ``coerce_setting``.
TYPES: dict[str, Any] = {"steps": 1, "guidance": 1.0, "negative_prompt": "", "height": 1, "width": 1, "scheduler": ""}
#: Components that denoise: their forward passes are the network evaluations.
DENOISERS = ("unet", "transformer")
#: Components that decode latents to images (their last stage fixes the image size and channels).
DECODERS = ("vae", "vqvae")
#: Components genbench does not load, and why.
LEFT_OUT = {"safety_checker": "it replaces the images it flags with black ones; metrics see what the model made"}


class DiffusersPipeline(PrecisionSetting, GenerativeModel):
    """A loaded diffusers pipeline sampled with per-image generators and its own components."""

    plugin_name = "diffusers"
    capabilities = frozenset({"steps", "guidance", "precision"})
    #: None: the pipeline's own default (its ``__call__``'s), filled in when it loads.
    settings = {"steps": None, "guidance": None, "scheduler": None, "negative_prompt": None, "precision": "fp32",
                "height": None, "width": None}

    def __init__(self, pipeline: DiffusionPipeline, source: PipelineSource, folder: Path, left_out: list[str]):
        super().__init__()
        self.pipeline, self.source, self.folder, self.left_out = pipeline, source, folder, left_out
        self.parameters = call_parameters(type(pipeline))
        self.pipeline_task = pipeline_task(type(pipeline))
        self.scheduler_config = dict(pipeline.scheduler.config)
        defaults = {key: self.parameters[PARAMETERS[key]].default for key in ("steps", "guidance")
                    if PARAMETERS[key] in self.parameters}
        own = {key: value for key, value in defaults.items() if value is not Parameter.empty}
        self.setting_values = SettingValues({**self.settings, **own, "scheduler": type(pipeline.scheduler).__name__})
        self.denoised_rows, self.evaluations = 0, None
        for name in DENOISERS:
            if isinstance(getattr(pipeline, name, None), torch.nn.Module):
                getattr(pipeline, name).register_forward_pre_hook(self.count_rows, with_kwargs=True)
        pipeline.set_progress_bar_config(disable=True)
        logging.getLogger(type(pipeline).__module__).addFilter(without_cut_caption_warnings)

    @classmethod
    def task_of(cls, checkpoint: Path | None) -> Task:
        source = PipelineSource.parse(checkpoint)
        return pipeline_task(pipeline_class(source.index(), source.name))

    @classmethod
    def load(cls, path: Path, device: torch.device) -> "DiffusersPipeline":
        """The pipeline of a folder or hub id, safetensors weights only, on ``device``."""
        source = PipelineSource.parse(path)
        index = source.index()
        pipeline_cls = pipeline_class(index, source.name)
        folder = source.folder()
        left_out = loaded_components(index, LEFT_OUT)
        try:
            pipeline = pipeline_cls.from_pretrained(str(folder), use_safetensors=True,
                                                    **{name: None for name in left_out})
        except (OSError, ValueError, TypeError) as exc:
            raise WeightsError(f"cannot load diffusers pipeline '{source.name}': {failure_reason(exc)}") from None
        return cls(pipeline.to(device), source, folder, left_out)

    @classmethod
    def create(cls, image_format: ImageFormat, config: dict[str, Any], num_classes: int | None = None):
        raise PluginError("plugin 'diffusers' evaluates a published pipeline; it is loaded with --checkpoint, "
                          "not created")

    def train(self, data, recipe, seed, device, progress=True) -> TrainingReport:
        raise PluginError("plugin 'diffusers' evaluates a published pipeline as it is; genbench does not train it")

    def save(self, path: Path) -> None:
        self.pipeline.save_pretrained(str(path), safe_serialization=True)

    @property
    def config(self) -> dict[str, Any]:
        """What ran: the pipeline's source and class, diffusers' version, the scheduler and what was left out."""
        import diffusers

        scheduler = self.pipeline.scheduler
        return {"source": self.source.name, **self.source.identity(self.folder),
                "pipeline": type(self.pipeline).__name__, "diffusers": diffusers.__version__,
                "scheduler": {"class": type(scheduler).__name__, "config": dict(scheduler.config)},
                "left_out": {name: LEFT_OUT[name] for name in self.left_out}}

    def prefer_format(self, image_format: ImageFormat) -> None:
        """The protocol's size becomes the default height and width where the pipeline takes them and its
        decoder's scale divides the size."""
        scale = getattr(self.pipeline, "vae_scale_factor", 1)
        if {"height", "width"} <= set(self.parameters) and image_format.size % scale == 0:
            dict.update(self.setting_values, height=image_format.size, width=image_format.size)

    def configure(self, **values: Any) -> None:
        """Refuse settings the pipeline has no parameter for, and values of the wrong type, then build the scheduler."""
        self.check_settings(values)
        typed = {key: self.checked(key, value) for key, value in values.items()}
        super().configure(**typed)
        settings = self.setting_values
        if settings["height"] != settings["width"]:
            raise PluginError(f"settings height={settings['height']} and width={settings['width']}: genbench evaluates "
                              f"square images, so set both to one size")
        self.pipeline.scheduler = self.scheduler(settings["scheduler"])

    def checked(self, key: str, value: Any) -> Any:
        """A ``--set`` value as the setting's type, refused where the pipeline's ``__call__`` has no parameter."""
        parameter = PARAMETERS[key]
        if parameter is not None and parameter not in self.parameters:
            raise PluginError(f"setting '{key}' does not apply: {type(self.pipeline).__name__}.__call__ takes no "
                              f"{parameter}")
        if key == "precision":
            return value
        typed = coerce_setting(key, value, TYPES[key])
        if key in ("steps", "height", "width") and typed < 1:
            raise PluginError(f"setting '{key}' must be at least 1, got {typed}")
        return typed

    def scheduler(self, name: str) -> Any:
        """A diffusers scheduler of class ``name``, built with ``from_config`` from the pipeline's own config."""
        import diffusers

        found = getattr(diffusers, name, None) if name.isidentifier() else None
        if not (isinstance(found, type) and issubclass(found, diffusers.SchedulerMixin)):
            compatible = ", ".join(sorted(c.__name__ for c in self.pipeline.scheduler.compatibles))
            raise PluginError(f"setting scheduler={name} is not a diffusers scheduler class (this pipeline's "
                              f"scheduler is compatible with: {compatible})")
        return found.from_config(self.scheduler_config)

    @property
    def image_format(self) -> ImageFormat:
        """The configured height, or the pipeline's own size: its denoiser's sample size times its decoder's scale."""
        height = self.setting_values.recorded()["height"]
        decoder, denoiser = self.component(DECODERS), self.component(DENOISERS)
        last = decoder if decoder is not None else denoiser
        channels = last.config.out_channels if last is not None else None
        if height is None and denoiser is not None:
            size = denoiser.config.get("sample_size")
            side = size if isinstance(size, int) else (size[0] if size and len(set(size)) == 1 else None)
            height = side * 2 ** (len(decoder.config.block_out_channels) - 1) if side and decoder is not None else side
        if height is None or channels is None:
            raise PluginError(f"genbench cannot tell the size of the images {type(self.pipeline).__name__} makes "
                              f"(no unet or transformer with a square sample_size): set height and width")
        return ImageFormat(int(height), int(channels))

    def component(self, names: tuple[str, ...]) -> Any:
        """The first of the components ``names`` the pipeline holds (None without any)."""
        return next((getattr(self.pipeline, n) for n in names if getattr(self.pipeline, n, None) is not None), None)

    def count_rows(self, module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
        """Forward pre-hook on a denoiser: add the rows of its input batch (one per image, two under guidance)."""
        first = next((value for value in (*args, *kwargs.values()) if isinstance(value, torch.Tensor)), None)
        self.denoised_rows += 0 if first is None else len(first)

    @property
    def network_evaluations(self) -> int | float | None:
        """Denoiser passes per image in the last ``sample`` call (None before one)."""
        return self.evaluations

    def modules(self) -> dict[str, torch.nn.Module]:
        return {name: c for name, c in self.pipeline.components.items() if isinstance(c, torch.nn.Module)}

    def to(self, device: torch.device) -> "DiffusersPipeline":
        self.pipeline.to(device)
        return self

    def truncated_captions(self, captions: list[str]) -> int:
        """Captions longer than the (first) tokenizer's context, which the pipeline cuts."""
        tokenizer = getattr(self.pipeline, "tokenizer", None)
        if tokenizer is None:
            return 0
        return sum(len(ids) > tokenizer.model_max_length for ids in tokenizer(list(captions), verbose=False).input_ids)

    @torch.no_grad()
    def sample(self, batch: SampleBatch) -> torch.Tensor:
        settings = dict(self.setting_values.items())
        arguments: dict[str, Any] = {"generator": batch.generators(), "output_type": "np"}
        if self.pipeline_task == Task.TEXT_TO_IMAGE:
            arguments["prompt"] = list(batch.captions or [])
        elif self.pipeline_task == Task.CLASS_CONDITIONAL:
            arguments["class_labels"] = self.checked_labels(batch.labels or [])
        elif "batch_size" in self.parameters:
            arguments["batch_size"] = len(batch)
        for key, parameter in PARAMETERS.items():
            if parameter is not None and settings[key] is not None:
                arguments[parameter] = [settings[key]] * len(batch) if key == "negative_prompt" else settings[key]
        self.denoised_rows = 0
        images = self.pipeline(**arguments).images
        self.evaluations = self.denoised_rows // len(batch) if self.denoised_rows % len(batch) == 0 else \
            self.denoised_rows / len(batch)
        return to_uint8(torch.from_numpy(images).permute(0, 3, 1, 2))

    def checked_labels(self, labels: list[int]) -> list[int]:
        """``labels`` when the denoiser has an embedding for each (a DiT's ``num_embeds_ada_norm``, a U-Net's
        ``num_class_embeds``), else one line."""
        denoiser = self.component(DENOISERS)
        config = denoiser.config if denoiser is not None else {}
        classes = config.get("num_embeds_ada_norm") or config.get("num_class_embeds")
        if classes and labels and max(labels) >= classes:
            raise PluginError(f"{type(self.pipeline).__name__} knows {classes} classes; the protocol asks for class "
                              f"{max(labels)}")
        return list(labels)


def without_cut_caption_warnings(record: logging.LogRecord) -> bool:
    """A filter for a pipeline module's logger: its warning, batch after batch, that the tokenizer cut a caption is
    dropped (the result counts those captions: ``samples.captions_truncated_by_model``)."""
    return not str(record.msg).startswith("The following part of your input was truncated")


DIFFUSERS_SPEC = ModelSpec(
    name="diffusers",
    model_class=DiffusersPipeline,
    description="any diffusers pipeline (--checkpoint: a save_pretrained folder or hub id org/name[@revision]), "
                "task from its __call__; settings steps, guidance, scheduler, negative_prompt, precision, height, "
                "width",
)


@hookimpl
def genbench_models():
    return [DIFFUSERS_SPEC]
