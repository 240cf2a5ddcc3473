"""Where a diffusers pipeline comes from and what it is, read before anything loads on a device.

``--checkpoint`` is a folder written by ``save_pretrained`` or a hub id ``org/name[@revision]``. A hub id is read
from the Hugging Face cache when downloads are off (``HF_HUB_OFFLINE=1`` or ``GENBENCH_OFFLINE=1``) and
downloaded into it when online (the host is probed first, so a machine without network fails in seconds, not
after the hub client's retries). Only diffusers' own pipeline classes are loaded, never a custom or remote-code
one, and only safetensors weights: a folder that holds pickled weights alone is refused, saying how to convert it.
The task comes from the pipeline class's ``__call__``: ``prompt`` is text-to-image, ``class_labels``
class-conditional, neither unconditional.
"""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from genbench.errors import PluginError, WeightsError
from genbench.models.base import Task
from genbench.storage.downloads import DownloadFailed, attempt, check_reachable, hub_endpoint
from genbench.storage.weights import offline, refuse_pickled_weights

if TYPE_CHECKING:  # diffusers takes seconds to import: only where a pipeline is read
    from diffusers import DiffusionPipeline

#: ``org/name`` with an optional ``@revision`` (a branch, tag or commit).
HUB_ID = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+)(?:@(?P<revision>[\w./-]+))?$")
INDEX = "model_index.json"
#: ``__call__`` parameters of pipelines that start from an input image rather than from noise alone.
IMAGE_INPUTS = ("image", "init_image", "mask_image", "control_image")
NO_CHECKPOINT = ("plugin 'diffusers' evaluates a published diffusers pipeline: pass --checkpoint with a folder saved "
                 "by save_pretrained or a hub id org/name[@revision]")


@dataclass(frozen=True)
class PipelineSource:
    """A pipeline's ``--checkpoint``: a local folder, or a hub id with the revision asked for (None: the default)."""

    given: str
    hub_id: str | None = None
    revision: str | None = None

    @classmethod
    def parse(cls, checkpoint: Path | str | None) -> "PipelineSource":
        """A folder when one exists at ``checkpoint``, else a hub id; anything else is one line."""
        if checkpoint is None:
            raise PluginError(NO_CHECKPOINT)
        text = str(checkpoint)
        if Path(text).is_dir():
            return cls(text)
        match = HUB_ID.match(text)
        if Path(text).exists() or match is None:
            raise WeightsError(f"{text} is neither a diffusers pipeline folder (saved by save_pretrained) nor a hub "
                               f"id org/name[@revision]")
        return cls(text, match["repo"], match["revision"])

    @property
    def name(self) -> str:
        """What a reader recognises the pipeline by: the hub id as given, or the folder's name."""
        return self.given if self.hub_id else Path(self.given).resolve().name

    def index(self) -> dict[str, Any]:
        """The pipeline's ``model_index.json`` (for a hub id, that one file is fetched, not the weights)."""
        if self.hub_id is None:
            path = Path(self.given) / INDEX
            if not path.is_file():
                raise WeightsError(f"{self.given} is not a diffusers pipeline folder (no {INDEX}; save one with "
                                   f"save_pretrained)")
        else:
            from huggingface_hub import hf_hub_download

            path = self.from_hub(lambda local: hf_hub_download(self.hub_id, INDEX, revision=self.revision,
                                                               local_files_only=local))
        try:
            index = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise WeightsError(f"{path} is not a readable {INDEX} ({type(exc).__name__}: {exc})") from None
        if not isinstance(index, dict):
            raise WeightsError(f"{path} is not a diffusers {INDEX} (a JSON object naming the pipeline class)")
        return index

    def folder(self) -> Path:
        """The local folder holding the pipeline, refused when its weights are pickled only: the folder given, or
        the hub snapshot in the cache (safetensors files only are fetched)."""
        if self.hub_id is None:
            folder = Path(self.given)
        else:
            from diffusers import DiffusionPipeline

            folder = self.from_hub(lambda local: DiffusionPipeline.download(
                self.hub_id, revision=self.revision, use_safetensors=True, local_files_only=local))
        refuse_pickled_weights(folder)
        return folder

    def identity(self, folder: Path) -> dict[str, Any]:
        """What the result records of where the weights came from: the hub id with the revision asked for and the
        commit it resolved to (the snapshot's name in the cache), or the folder (its tree hash is the run's
        ``checkpoint_sha256``)."""
        if self.hub_id is None:
            return {"folder": str(Path(self.given).resolve())}
        resolved = folder.name if folder.parent.name == "snapshots" else None
        return {"hub_id": self.hub_id, "revision": self.revision, "resolved_revision": resolved}

    def from_hub(self, fetch: Callable[[bool], Any]) -> Path:
        """``fetch(local_files_only)``'s path: from the cache alone when offline, else after probing the hub."""
        advice = ("download it once online (genbench run does) or pass a folder saved by save_pretrained as "
                  "--checkpoint")
        if offline():
            from huggingface_hub import constants

            try:
                return Path(fetch(True))
            except (OSError, ValueError):
                raise WeightsError(f"diffusers pipeline '{self.given}' is not in the Hugging Face cache "
                                   f"({constants.HF_HUB_CACHE}) and downloads are off (offline); {advice}") from None
        try:
            check_reachable(hub_endpoint())  # the hub client would retry an unreachable host
            return Path(attempt(lambda: fetch(False)))
        except DownloadFailed as failed:
            if "necessary `safetensors` weights" in failed.reason:  # diffusers: the repo has pickles only
                raise WeightsError(f"diffusers pipeline '{self.given}' has no safetensors weights: genbench refuses "
                                   f"pickled weights on purpose (unpickling can run code from the file); convert "
                                   f"them once, where you trust the files, with DiffusionPipeline.from_pretrained("
                                   f"'{self.hub_id}').save_pretrained(DIR, safe_serialization=True) and pass DIR"
                                   ) from None
            raise WeightsError(f"diffusers pipeline '{self.given}' could not be downloaded ({failed.reason}); "
                               f"{advice}") from None


def pipeline_class(index: dict[str, Any], name: str) -> type[DiffusionPipeline]:
    """The diffusers pipeline class ``model_index.json`` names; a custom or unknown one is refused in one line."""
    import diffusers

    class_name = index.get("_class_name")
    if not isinstance(class_name, str):
        raise WeightsError(f"diffusers pipeline '{name}' names pipeline class {class_name!r} in {INDEX}: genbench "
                           f"loads diffusers' own pipeline classes only, never custom or remote code")
    found = getattr(diffusers, class_name, None) if class_name.isidentifier() else None
    if not (isinstance(found, type) and issubclass(found, diffusers.DiffusionPipeline)):
        raise WeightsError(f"diffusers pipeline '{name}' names pipeline class '{class_name}' in {INDEX}, which "
                           f"diffusers {diffusers.__version__} does not provide")
    return found


def call_parameters(cls: type) -> dict[str, inspect.Parameter]:
    """The parameters of a pipeline class's ``__call__`` (without ``self``)."""
    parameters = inspect.signature(cls.__call__).parameters
    return {name: parameter for name, parameter in parameters.items() if name != "self"}


def loaded_components(index: dict[str, Any], names: Any) -> list[str]:
    """Which of ``names`` ``model_index.json`` lists with a library and class (``[null, null]``: saved without)."""
    return [name for name in names if isinstance(index.get(name), list) and any(index[name])]


def pipeline_task(cls: type) -> Task:
    """Text-to-image for a ``prompt``, class-conditional for ``class_labels``, else unconditional; a pipeline that
    starts from an input image is refused (genbench generates from noise and a condition)."""
    parameters = call_parameters(cls)
    inputs = [name for name in IMAGE_INPUTS if name in parameters]
    if inputs:
        raise PluginError(f"plugin 'diffusers': {cls.__name__}.__call__ takes an input image ({', '.join(inputs)}); "
                          f"genbench evaluates pipelines that generate from noise and a prompt, a class or nothing")
    if "prompt" in parameters:
        return Task.TEXT_TO_IMAGE
    if "class_labels" in parameters:
        return Task.CLASS_CONDITIONAL
    return Task.UNCONDITIONAL
