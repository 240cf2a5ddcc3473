"""A run's model: the given checkpoint loaded, or a model trained with the protocol's recipe (or the plugin's),
reusing a finished, verified training of the same identity (``genbench.runner.checkpoint_store``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from genbench.errors import GenbenchError, PluginError, WeightsError
from genbench.evaluation.conversion import Conversion
from genbench.evaluation.data import data_identity, load_split
from genbench.models.base import GenerativeModel, ImageFormat, ModelSpec, TrainingData, TrainingReport
from genbench.models.training import check_recipe
from genbench.protocols.protocol import Protocol, TrainingRecipe
from genbench.registry import Provided
from genbench.runner.checkpoint_store import (checkpoint_path, numeric_environment, report_path, training_lock,
                                              verified_report, write_report)
from genbench.runner.context import RunContext
from genbench.runner.distributed import share_file
from genbench.runner.plugin_calls import plugin_call
from genbench.runner.quiet import library_output_held
from genbench.storage.files import check_regular_file
from genbench.trust.code_identity import code_identity
from genbench.trust.hashing import checkpoint_sha256, sha256_file
from genbench.trust.seeds import training_seed


@dataclass
class Acquired:
    """The model a run samples, the checkpoint it came from and its hash, and its training (None when given);
    once ``Runner.acquire`` configured it, the settings it had before and the conversion of its images."""

    model: GenerativeModel
    checkpoint: Path | None
    checkpoint_sha256: str | None
    training: dict[str, Any] | None
    default_settings: dict[str, Any] = field(default_factory=dict)
    conversion: Conversion | None = None


def choose_recipe(protocol: Protocol, spec: ModelSpec, overrides: dict[str, Any]) -> TrainingRecipe:
    """The checked recipe that trains ``spec`` on ``protocol`` (``Protocol.training_recipe``) with the
    ``--set train.*`` ``overrides`` applied; no recipe at all is a ``PluginError``."""
    if spec.default_recipe is not None:
        check_recipe(spec.default_recipe, f"plugin '{spec.name}' default_recipe")
    check_recipe(overrides, "--set train.*")
    chosen = protocol.training_recipe(spec.name, spec.default_recipe)
    if chosen is None:
        raise PluginError(f"no checkpoint given, protocol '{protocol.name}' has no training recipe for plugin "
                          f"'{spec.name}' and the plugin has no default_recipe: pass --checkpoint PATH")
    if not overrides:
        return chosen
    with_overrides = f"{chosen.source} + --set {', '.join(f'train.{k}' for k in sorted(overrides))}"
    return TrainingRecipe({**chosen.values, **overrides}, with_overrides)


@dataclass(frozen=True)
class TrainingPlan:
    """How a model without a checkpoint is made: its recipe, where the recipe comes from, and its config."""

    recipe: dict[str, Any]
    source: str
    config: dict[str, Any]


def plan_training(protocol: Protocol, spec: ModelSpec, overrides: dict[str, Any]) -> TrainingPlan:
    """The checked recipe (``choose_recipe``) and the config (the plugin's default under the recipe's own)."""
    chosen = choose_recipe(protocol, spec, overrides)
    recipe = dict(chosen.values)
    return TrainingPlan(recipe, chosen.source, {**spec.default_config, **recipe.pop("config", {})})


def acquire_model(ctx: RunContext, provided: Provided[ModelSpec], protocol: Protocol, training: TrainingPlan | None,
                  seed: int, device: torch.device, results_dir: Path) -> Acquired:
    """Load ``--checkpoint``, or train with the planned recipe (reusing a finished, verified training)."""
    spec = provided.item
    given = ctx.options.checkpoint
    if given is not None:
        check_regular_file(Path(given), "checkpoint", WeightsError)  # a FIFO would block the reader for good
        local = Path(given).exists()  # a hub name may download: its progress stays live
        with library_output_held(local):
            model = plugin_call(spec.name, "load", spec.model_class.load, Path(given), device)
        return Acquired(model, Path(given), checkpoint_sha256(Path(given)), None)  # a pipeline folder: its tree
    return _trained(ctx, provided, protocol, training, seed, device, results_dir)


def _trained(ctx: RunContext, provided: Provided[ModelSpec], protocol: Protocol, planned: TrainingPlan, seed: int,
             device: torch.device, results_dir: Path) -> Acquired:
    """The model of this training identity: trained once (by the main rank, under a lock), then reused."""
    spec = provided.item
    cls = spec.model_class
    recipe, config = planned.recipe, planned.config
    train_split = protocol.data.train_split
    if train_split is None:
        raise PluginError(f"protocol '{protocol.name}' has a training recipe but no data.train_split")
    identity = {"plugin": spec.name, "config": config, "recipe": recipe, "seed": seed,
                "data": data_identity(protocol, train_split),
                "code": code_identity(cls, provided.plugin.distribution, provided.plugin.version),
                "environment": numeric_environment(device)}
    path = checkpoint_path(results_dir, spec.name, protocol.name, identity)
    group = ctx.group
    if group.is_main:  # only the main rank trains (or verifies); the others receive its bytes
        with training_lock(path):
            report, why = verified_report(path, identity)
            if report is None:
                if path.exists():
                    ctx.log(f"not reusing {path}: {why}; training again")
                ctx.interrupted_while = lambda: ("while training: a training is not resumed; the same command "
                                                 "trains again from the start")
                report = train(ctx, cls, spec.name, protocol, train_split, config, recipe, seed, device, path)
                ctx.interrupted_while = None
                report = dataclasses.replace(report, recipe={**recipe, **report.recipe}, recipe_source=planned.source)
                write_report(path, report, identity)
                ctx.log(f"checkpoint saved to {path}")
            else:
                ctx.log(f"reusing trained checkpoint {path} (SHA-256 verified)")
    share_file(group, path, "sharing the trained checkpoint")
    share_file(group, report_path(path), "sharing the training report")
    if not group.is_main:
        report, why = verified_report(path, identity)
        if report is None:
            raise GenbenchError(f"rank {group.rank}: checkpoint {path} is not usable after training: {why}")
    model = plugin_call(spec.name, "load", cls.load, path, device)
    digest = sha256_file(path)
    training = {**dataclasses.asdict(report), "identity": identity, "checkpoint_sha256": digest}
    return Acquired(model, path, digest, training)


def train(ctx: RunContext, cls: type[GenerativeModel], plugin: str, protocol: Protocol, split: str,
          config: dict[str, Any], recipe: dict[str, Any], seed: int, device: torch.device, path: Path) -> TrainingReport:
    """Create and train a model from the run seed's training seed and save it to ``path``."""
    data = load_split(protocol, split, ctx.options.data_dir, ctx.registry)
    image_format = ImageFormat(protocol.data.image_size, protocol.data.channels)
    ctx.log(f"training {plugin} on {protocol.data.dataset}/{split} ({len(data)} images)")
    generator_seed = training_seed(seed)
    torch.manual_seed(generator_seed)  # the random initialisation is part of a seeded training
    model = plugin_call(plugin, "create", cls.create, image_format, config, data.num_classes)
    report = plugin_call(plugin, "train", model.train,
                         TrainingData(data.pixels(), data.labels, data.captions, data.num_classes),
                         recipe, generator_seed, device, ctx.progress)
    plugin_call(plugin, "save", model.save, path)
    return report
