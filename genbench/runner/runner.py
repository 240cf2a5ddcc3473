"""The runner: a model in, a result out, in named phases, each readable on one screen.

1. ``plan``: the plugin, the protocol with its ``--set`` overrides, the run seed, the results directory;
2. ``prepare``: the evaluation (``genbench.evaluation``: device, extractors, reference set, fingerprint), the
   process group, and every metric's check, before anything trains or samples;
3. ``acquire``: the model, loaded or trained (``genbench.runner.acquire``), then configured;
4. ``sample``: the determinism probe, the sampling pass (``genbench.runner.sampling``: resumable shards, one
   feature pass) and the reference features, with every rank taking part;
5. ``finish`` (main rank): metrics, speed, the grid and gallery, the result record.
"""

from __future__ import annotations

import functools
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from genbench.errors import ProtocolError
from genbench.evaluation.device import use_threads
from genbench.evaluation.session import Evaluation, ReferenceFeatures, open_evaluation
from genbench.models.base import ImageFormat, ModelSpec, check_settings_read, recorded_settings
from genbench.protocols.conditions import Conditions, class_plan_record, plan_conditions
from genbench.protocols.overrides import override_protocol, split_settings
from genbench.protocols.protocol import Protocol
from genbench.registry import Provided, Registry, get_registry
from genbench.runner.acquire import Acquired, acquire_model
from genbench.runner.context import RunContext
from genbench.runner.distributed import ProcessGroup, process_group
from genbench.runner.gallery import draw_gallery
from genbench.runner.options import RunOptions
from genbench.runner.plugin_calls import (check_determinism, naming_plugin, plugin_call, sample_images, sample_warnings,
                                          truncated_captions)
from genbench.runner.reference_pass import shared_reference_features
from genbench.runner.sampling import GRID_IMAGES, record_run_parts, sample_and_extract
from genbench.runner.speed import time_sampling
from genbench.storage.housekeeping import WORK_DIR, WorkDirectory, in_use
from genbench.storage.images import save_grid, save_images
from genbench.storage.results import ensure_writable, new_run_id, utc_now, write_result
from genbench.storage.weights import exported_weights_dir
from genbench.trust.code_identity import code_identity
from genbench.trust.determinism import ProbeImages
from genbench.trust.digests import FORMAT as DIGEST_FORMAT
from genbench.trust.digests import distinct_count
from genbench.trust.hashing import sha256_json
from genbench.trust.seeds import check_run_seed


@dataclass
class RunPlan:
    """What the options resolve to before any work: the model spec, the protocol (with overrides), the
    settings for the model and its training, the run seed and where the result goes."""

    provided: Provided[ModelSpec]
    protocol: Protocol
    model_settings: dict[str, str]
    recipe_overrides: dict[str, Any]
    seed: int
    results_dir: Path
    started: str
    clock: float

    @property
    def spec(self) -> ModelSpec:
        return self.provided.item


@dataclass
class Sampled:
    """What the sampling phase leaves for the main rank: features, grid images, digests, the probe, the run's
    conditions, the reference features, the run's code identity and its work directory."""

    generated: dict[str, torch.Tensor]
    images: torch.Tensor
    digests: torch.Tensor
    probe: ProbeImages
    conditions: Conditions
    reference: ReferenceFeatures
    code: dict[str, Any]
    work: WorkDirectory


class Runner:
    """One evaluation run; ``run()`` returns the result record it wrote (None on ranks other than the main one)."""

    def __init__(self, options: RunOptions, registry: Registry | None = None):
        self.options = options
        use_threads(options.threads)
        self.ctx = RunContext(options, registry or get_registry(), ProcessGroup(), not options.quiet)

    def log(self, message: str) -> None:
        self.ctx.log(message)

    def run(self) -> dict[str, Any] | None:
        """Run the evaluation and write the result; under ``torchrun`` only the main rank returns it.

        ``--weights-dir`` reaches plugins (frozen CLIP towers, pretrained autoencoders) as
        ``GENBENCH_WEIGHTS`` for the run's duration, so their loaders search it like extractors do.
        """
        with exported_weights_dir(self.options.weights_dir), ExitStack() as self.held:
            return self._run()

    def _run(self) -> dict[str, Any] | None:
        plan = self.plan()
        evaluation = self.prepare(plan)
        acquired = self.acquire(plan, evaluation)
        sampled = self.sample(plan, evaluation, acquired)
        return None if sampled is None else self.finish(plan, evaluation, acquired, sampled)

    def plan(self) -> RunPlan:
        """Resolve the options: unknown names, a task mismatch, a bad seed or an unwritable directory stop here."""
        opts, registry = self.options, self.ctx.registry
        started, clock = utc_now(), time.perf_counter()
        provided = registry.model(opts.plugin)
        spec = provided.item
        model_settings, recipe_overrides, protocol_overrides = split_settings(opts.settings)
        protocol = override_protocol(registry.protocol(opts.protocol), protocol_overrides)
        if spec.task != protocol.task:
            raise ProtocolError(f"plugin '{spec.name}' is a {spec.task.value} model; protocol '{protocol.name}' "
                                f"evaluates {protocol.task.value} models")
        results_dir = ensure_writable(opts.results_dir)
        self.held.enter_context(in_use(results_dir))  # cleans up after dead runs when alone in it
        seed = check_run_seed(protocol.sampling.seed if opts.seed is None else opts.seed)
        return RunPlan(provided, protocol, model_settings, recipe_overrides, seed, results_dir, started, clock)

    def prepare(self, plan: RunPlan) -> Evaluation:
        """The evaluation and the process group; every metric's check and (for a model still to be trained) its
        settings are refused here, before anything trains or samples."""
        ctx, protocol = self.ctx, plan.protocol
        evaluation = open_evaluation(protocol, self.options, ctx.registry, ctx.log)
        ctx.group = process_group(evaluation.device)
        ctx.progress = ctx.progress and ctx.group.is_main
        evaluation.check_metrics(plan_conditions(protocol, evaluation.reference, plan.seed))
        if self.options.checkpoint is None:  # the model will be created from this class: refuse bad settings now
            with naming_plugin(plan.spec.name):
                plan.spec.model_class.check_settings(plan.model_settings)
        return evaluation

    def acquire(self, plan: RunPlan, evaluation: Evaluation) -> Acquired:
        """The model, loaded or trained on the evaluation's device, configured with the run's settings."""
        acquired = acquire_model(self.ctx, plan.provided, plan.protocol, plan.recipe_overrides, plan.seed,
                                 evaluation.device, plan.results_dir)
        with naming_plugin(plan.spec.name):
            plugin_call(plan.spec.name, "configure", acquired.model.configure, **plan.model_settings)
        return acquired

    def sample(self, plan: RunPlan, evaluation: Evaluation, acquired: Acquired) -> Sampled | None:
        """The probe, the sampling pass and the reference features; None on ranks other than the main one."""
        ctx, spec, protocol, model = self.ctx, plan.spec, plan.protocol, acquired.model
        conditions = plan_conditions(protocol, evaluation.reference, plan.seed)
        image_format = ImageFormat(protocol.data.image_size, protocol.data.channels)
        sample = functools.partial(sample_images, model, spec.name, image_format, conditions, plan.seed,
                                   evaluation.device)
        probe = ProbeImages(sample, protocol.sampling.num_samples) if ctx.group.is_main else None
        if probe is not None:
            check_determinism(probe, spec.name, self.options.allow_nondeterministic)
        code = code_identity(spec.model_class, plan.provided.plugin.distribution, plan.provided.plugin.version)
        run_parts = {"fingerprint": evaluation.fingerprint, "plugin": spec.name,
                     "checkpoint": acquired.checkpoint_sha256, "settings": recorded_settings(model),
                     "seed": plan.seed, "code": code,
                     "checkpoint_path": str(acquired.checkpoint) if acquired.checkpoint_sha256 is None else None,
                     "shards": DIGEST_FORMAT}
        stem = f"{protocol.name}-{spec.name}"
        work_dir = plan.results_dir / WORK_DIR / f"{stem}-{sha256_json(run_parts)[:20]}"
        work = self.held.enter_context(WorkDirectory(work_dir))  # shards stay for a resume until finish()
        record_run_parts(ctx, plan.results_dir, stem, work_dir, run_parts)
        generated, images, digests = sample_and_extract(ctx, sample, spec.name, protocol, evaluation.extractors,
                                                        conditions, work_dir)
        reference = shared_reference_features(ctx.group, evaluation)  # every rank takes part
        if not ctx.group.is_main:
            return None
        probe.compare_with_run(images[:len(probe.images)])
        check_determinism(probe, spec.name, self.options.allow_nondeterministic)
        return Sampled(generated, images, digests, probe, conditions, reference, code, work)

    def finish(self, plan: RunPlan, evaluation: Evaluation, acquired: Acquired, sampled: Sampled) -> dict[str, Any]:
        """Metrics, speed, the grid, samples and gallery, then the result record, written atomically."""
        opts, spec, protocol, model = self.options, plan.spec, plan.protocol, acquired.model
        warnings = sample_warnings(sampled.probe, sampled.digests)
        for warning in warnings:
            self.log(f"warning: {warning}")
        metrics, reference = evaluation.score(sampled.generated, sampled.conditions, sampled.reference)
        self.log("measuring sampling speed")
        speed = plugin_call(spec.name, "sample", time_sampling, model, protocol, sampled.conditions, evaluation.device)
        check_settings_read(model, spec.name)
        run_id = new_run_id(protocol.name, spec.name)
        artifacts = {"grid": f"{run_id}.grid.png", "samples_dir": None}
        save_grid(sampled.images[:GRID_IMAGES], plan.results_dir / artifacts["grid"])
        if opts.save_samples:
            artifacts["samples_dir"] = f"{run_id}.samples"
            save_images(sampled.images, plan.results_dir / artifacts["samples_dir"])
        artifacts["gallery"] = draw_gallery(self.log, model, spec.name, protocol, evaluation, plan.results_dir, run_id)
        record = evaluation.record(
            run_id, reference, metrics, plan.started, plan.clock, opts.command,
            plugin={"name": spec.name, "model": spec.model_class.__name__, "description": spec.description,
                    "distribution": plan.provided.plugin.distribution, "version": plan.provided.plugin.version,
                    "task": spec.task.value, "checkpoint": str(acquired.checkpoint) if acquired.checkpoint else None,
                    "checkpoint_sha256": acquired.checkpoint_sha256, "config": getattr(model, "config", None),
                    "settings": recorded_settings(model), "capabilities": sorted(spec.model_class.capabilities),
                    "code": sampled.code},
            samples={"num_samples": protocol.sampling.num_samples, "seed": plan.seed,
                     "shard_size": protocol.sampling.shard_size,
                     "batch_size": opts.batch_size or protocol.sampling.batch_size,
                     "feature_batch_size": protocol.sampling.feature_batch_size,
                     "conditions": protocol.sampling.conditions,
                     "samples_per_caption": protocol.sampling.samples_per_caption,
                     "labels": class_plan_record(sampled.conditions.labels, evaluation.reference.num_classes, "plan")
                     if sampled.conditions.labels else None,
                     "captions_truncated_by_model": truncated_captions(model, spec.name, sampled.conditions),
                     "distinct": distinct_count(sampled.digests), "determinism": sampled.probe.summary()},
            warnings=warnings, speed=speed, parameters=model.parameter_counts(), training=acquired.training,
            artifacts=artifacts,
        )
        path = write_result(plan.results_dir, record)
        sampled.work.finish()
        self.log(f"result written to {path}")
        record["path"] = str(path)
        return record


def run(plugin: str, protocol: str, **options: Any) -> dict[str, Any] | None:
    """Evaluate ``plugin`` on ``protocol`` and return the result record (also written to disk)."""
    return Runner(RunOptions(plugin=plugin, protocol=protocol, **options)).run()
