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
    """Return the ``ModelSpec`` objects this plugin provides (name, task, model class).

    Names are global: two plugins claiming one name is an error naming both distributions.
    """


@hookspec
def genbench_protocols() -> list:
    """Return protocol definitions: paths to TOML protocol files, or ``Protocol`` objects."""


@hookspec
def genbench_datasets() -> list:
    """Return the ``DatasetSpec`` objects this plugin provides (name and a loader per split).

    A loader returns an ``ImageDataset``: uint8 ``[N, C, H, W]`` images at the protocol's size
    (a tensor, or ``LazyImages`` that decode when indexed, for sets too large to hold) with
    labels or captions.
    """


@hookspec
def genbench_extractors() -> list:
    """Return the ``ExtractorSpec`` objects this plugin provides (feature models metrics read)."""


@hookspec
def genbench_metrics() -> list:
    """Return the ``MetricSpec`` objects this plugin provides (features in, numbers out).

    A spec's ``check`` says, from a ``MetricPlan``, whether the metric can be computed at all; the
    runner asks it before anything trains or samples."""
