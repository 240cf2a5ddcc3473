"""The whole extension surface of genbench: every hook a plugin may implement.

A plugin is a module registered under the entry-point group ``genbench``. It implements
any of the hooks below with ``@genbench.hookimpl``; each hook takes no arguments today and
returns a list, so a spec can grow keyword arguments later without breaking old plugins
(pluggy's opt-in arguments). Built-ins register through exactly the same hooks.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("genbench")
hookimpl = pluggy.HookimplMarker("genbench")


@hookspec
def genbench_models() -> list:
    """Return the ``ModelSpec`` objects this plugin provides (name, model class, default config and recipe).

    The model class subclasses ``genbench.models.base.GenerativeModel`` (``genbench.models.kit.NetworkModel``
    brings checkpointing and the shared training loop). The runner calls, in order:

    - ``create(image_format, config, num_classes)``, then ``train(data, recipe, seed, device)``
      where ``data`` is a ``TrainingData`` (uint8 ``[N, C, H, W]`` images, labels or captions) and
      ``recipe`` the protocol's ``[training.NAME]``, or else ``ModelSpec.default_recipe`` (so a new
      model trains on ``digits`` without editing a protocol); it returns a ``TrainingReport``;
      then ``save(path)``;
    - or ``load(path, device)`` for ``--checkpoint``: a model ready to sample;
      ``genbench.models.checkpoints.load_checkpoint`` returns a ``Checkpoint(plugin, config, tensors, extra)``;
    - ``configure(**settings)`` once: ``--set`` values of the settings the class declares in
      ``settings``, which the model then reads from ``self.setting_values`` (never from its config:
      the result records ``self.setting_values``, and a declared setting the model never reads
      there is refused);
    - ``sample(batch)``: uint8 ``[N, C, H, W]`` drawn from ``batch.randn`` / ``batch.generators()``.

    Names are global: a name two plugins claim is disabled for both, with the reason in
    ``genbench list``.
    """


@hookspec
def genbench_protocols() -> list:
    """Return protocol definitions: paths to TOML protocol files, or ``Protocol`` objects."""


@hookspec
def genbench_datasets() -> list:
    """Return the ``DatasetSpec`` objects this plugin provides (name, a loader, and the ``settings`` a
    protocol's ``[data]`` may give it; other keys are refused).

    A loader returns an ``ImageDataset``: uint8 ``[N, C, H, W]`` images at the protocol's size
    (a tensor, or ``LazyImages`` that decode when indexed, for sets too large to hold) with
    labels or captions.
    """


@hookspec
def genbench_extractors() -> list:
    """Return the ``ExtractorSpec`` objects this plugin provides (feature models metrics read), each with
    the ``settings`` a protocol's ``[extractors.NAME]`` may give it; other keys are refused."""


@hookspec
def genbench_metrics() -> list:
    """Return the ``MetricSpec`` objects this plugin provides (features in, numbers out), each with the
    settings (``defaults``) a protocol's ``[metrics.NAME]`` may override; other keys are refused.

    A spec's ``check`` says, from a ``MetricPlan``, whether the metric can be computed at all; the
    runner asks it before anything trains or samples."""
