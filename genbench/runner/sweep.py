"""Sweeps: one run per combination of ``--set KEY=V1,V2,...`` values, sharing one trained model.

Each run goes through the ordinary runner, so each writes its own result with its settings
recorded; the runner reuses a finished training with the same plugin, config, recipe, seed
and data, so only the first run of a sweep trains.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any, Iterator

from genbench.errors import GenbenchError
from genbench.protocols.overrides import override_protocol, split_settings
from genbench.registry import get_registry
from genbench.runner.acquire import plan_training
from genbench.runner.options import RunOptions
from genbench.runner.plugin_calls import naming_plugin
from genbench.runner.runner import Runner


def expand_settings(settings: dict[str, str]) -> list[dict[str, str]]:
    """``{'steps': '10,20', 'eta': '0'}`` -> ``[{'steps': '10', 'eta': '0'}, {'steps': '20', 'eta': '0'}]``."""
    axes = []
    for key, value in settings.items():
        values = [v.strip() for v in value.split(",")]
        if any(not v for v in values):
            raise GenbenchError(f"--set {key}={value}: empty value in the list")
        axes.append([(key, v) for v in values])
    return [dict(combo) for combo in itertools.product(*axes)]


def sweep(options: RunOptions) -> Iterator[tuple[dict[str, str], dict[str, Any]]]:
    """Run ``options`` once per combination of its settings' comma-separated values; yield each
    combination with its result record."""
    combinations = expand_settings(options.settings)
    if len(combinations) < 2:
        raise GenbenchError("a sweep needs at least one --set KEY=V1,V2,... with two or more values")
    check_combinations(options, combinations)
    for combination in combinations:
        yield combination, Runner(dataclasses.replace(options, settings=combination)).run()


def check_combinations(options: RunOptions, combinations: list[dict[str, str]]) -> None:
    """Refuse the first combination whose settings the plugin or protocol refuses, before any run trains or
    samples (a sweep never stops half-way on a value it could have refused at once)."""
    registry = get_registry()
    spec = registry.model(options.plugin).item
    protocol = registry.protocol(options.protocol)
    for combination in combinations:
        model_settings, recipe, overrides = split_settings(combination)
        planned = override_protocol(protocol, overrides)
        config = plan_training(planned, spec, recipe).config if options.checkpoint is None else None
        with naming_plugin(spec.name):
            spec.model_class.check_settings(model_settings, config)


def sweep_table(runs: list[tuple[dict[str, str], dict[str, Any]]]) -> str:
    """One line per run: the settings that vary, each metric, network evaluations, s/image, result file."""
    swept = [key for key in runs[0][0] if len({settings[key] for settings, _ in runs}) > 1]
    metric_keys = list(runs[0][1]["metrics"])
    header = [*swept, *metric_keys, "evals/image", "s/image (largest batch)", "result"]
    rows = []
    for settings, record in runs:
        speed = record["speed"]
        largest = max(speed["by_batch_size"].values(), key=lambda figures: figures["batch_size"])
        rows.append([*(settings[k] for k in swept),
                     *(f"{record['metrics'][k]['value']:.6g}" for k in metric_keys),
                     str(speed["network_evaluations_per_image"]), f"{largest['seconds_per_image']:.3g}",
                     record["path"]])
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    return "\n".join("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)) for row in [header, *rows])
