"""Every call into a plugin's model: a foreign exception becomes one line naming the plugin and the hook,
samples are drawn in the configured precision from each image's own seed and condition, and every batch a
plugin returns is checked before anything else sees it, then brought to the protocol's format
(``genbench.evaluation.conversion``)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

import torch

from genbench.errors import GenbenchError, PluginError, debugging
from genbench.evaluation.conversion import Conversion
from genbench.models.base import GenerativeModel, ImageFormat, SampleBatch
from genbench.models.precision import sampling_precision
from genbench.protocols.conditions import Conditions
from genbench.trust.determinism import HOW_TO_FIX, ProbeImages
from genbench.trust.digests import distinct_count
from genbench.trust.seeds import sample_seed

#: A run whose share of distinct images is below this gets a warning (a plugin returning one image for every seed).
DISTINCT_WARNING_SHARE = 0.9


def plugin_call(plugin: str, hook: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a plugin method; a foreign exception becomes a ``PluginError`` naming plugin and hook
    (``GENBENCH_DEBUG=1`` lets it through with its traceback)."""
    try:
        return fn(*args, **kwargs)
    except GenbenchError:
        raise
    except Exception as exc:
        if debugging():
            raise
        raise PluginError(f"plugin '{plugin}' {hook}() raised {type(exc).__name__}: {exc}") from exc


@contextmanager
def naming_plugin(plugin: str) -> Iterator[None]:
    """A ``PluginError`` that does not name ``plugin`` (a refused setting) is re-raised with its name in front."""
    try:
        yield
    except PluginError as exc:
        if str(exc).startswith(f"plugin '{plugin}'"):
            raise
        raise PluginError(f"plugin '{plugin}': {exc}") from None


def draw(model: GenerativeModel, plugin: str, batch: SampleBatch) -> torch.Tensor:
    """The plugin's samples for ``batch``, in the precision it was configured with (``--set precision=...``)."""
    with sampling_precision(model, batch.device):
        return plugin_call(plugin, "sample", model.sample, batch)


def validate_batch(images: object, expected: int, image_format: ImageFormat, plugin: str,
                   hook: str = "sample", owner: str = "the protocol") -> torch.Tensor:
    """``images`` when it is uint8 ``[expected, C, H, W]`` of ``owner``'s format; else a ``PluginError``."""
    return image_format.check(images, f"plugin '{plugin}' {hook}()", expected, owner=owner)


def converted_batch(model: GenerativeModel, plugin: str, batch: SampleBatch, conversion: Conversion) -> torch.Tensor:
    """The plugin's images for ``batch``, checked against the format it declares, in the protocol's format."""
    owner = f"its image_format ({conversion.source.size}x{conversion.source.size}, {conversion.source.channels} " \
            f"channels)" if conversion.steps else "the protocol"
    images = validate_batch(draw(model, plugin, batch), len(batch), conversion.source, plugin, owner=owner)
    return conversion.apply(images)


def sample_images(model: GenerativeModel, plugin: str, conversion: Conversion, conditions: Conditions,
                  seed: int, device: torch.device, indices: list[int]) -> torch.Tensor:
    """Images ``indices`` of a run (their seeds and conditions) in one ``sample`` call, validated and brought to
    the protocol's format; they stay on the sampling device."""
    own = conditions.pick(indices)
    batch = SampleBatch([sample_seed(seed, i) for i in indices], device, own.labels, own.captions)
    return converted_batch(model, plugin, batch, conversion)


def truncated_captions(model: GenerativeModel, plugin: str, conditions: Conditions) -> int | None:
    """How many of the run's captions the model's text encoder cut (None for unconditional and class runs)."""
    if conditions.captions is None:
        return None
    return int(plugin_call(plugin, "truncated_captions", model.truncated_captions, conditions.captions))


def check_determinism(probe: ProbeImages, plugin: str, allowed: bool) -> None:
    """Stop a plugin whose images do not depend on their seeds alone, unless ``allowed``
    (``--allow-nondeterministic``)."""
    if probe.deterministic or allowed:
        return
    raise PluginError(f"plugin '{plugin}' is not deterministic: {'; '.join(probe.problems)}; {HOW_TO_FIX} "
                      f"(or pass --allow-nondeterministic: the result is then marked and never ranked)")


def sample_warnings(probe: ProbeImages, digests: torch.Tensor) -> list[str]:
    """What a reader of the result must know: too few distinct samples, a non-deterministic plugin."""
    warnings = []
    distinct = distinct_count(digests)
    if distinct < DISTINCT_WARNING_SHARE * len(digests):
        warnings.append(f"only {distinct} of {len(digests)} samples are distinct images (below "
                        f"{DISTINCT_WARNING_SHARE:.0%}): the plugin returns the same image for many seeds")
    if not probe.deterministic:
        warnings.append(f"the plugin is not deterministic ({'; '.join(probe.problems)}): the same command gives "
                        f"other numbers, so this result is never ranked")
    return warnings
