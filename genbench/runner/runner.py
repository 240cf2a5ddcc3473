"""The runner: a model in, a result out, in named phases, each readable on one screen.

1. ``plan``: the plugin, the protocol with its ``--set`` overrides, the run seed, the results directory;
2. ``prepare``: the evaluation (``genbench.evaluation``: device, extractors, reference set, fingerprint), the
   process group, and every metric's check, before anything trains or samples;
3. ``acquire``: the model, loaded or trained (``genbench.runner.acquire``), told the protocol's geometry, then
   configured; images in another geometry are converted by the harness (``genbench.evaluation.conversion``);
4. ``sample``: the determinism probe, the sampling pass (``genbench.runner.sampling``: resumable shards, one
   feature pass) and the reference features, with every rank taking part;
5. ``finish`` (main rank): metrics, speed, the grid and gallery, the result record.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from genbench.errors import Interrupted, ProtocolError, Terminated
from genbench.evaluation.conversion import plan_conversion
from genbench.evaluation.device import busy_machine_hint, use_threads
from genbench.evaluation.preflight import check_plan_size
from genbench.evaluation.session import Evaluation, ReferenceFeatures, open_evaluation
from genbench.models.base import ImageFormat, ModelSpec, Task, check_settings_read, recorded_settings
from genbench.protocols.additions import drop_metrics
from genbench.protocols.conditions import Conditions, class_plan_record, plan_conditions
from genbench.protocols.overrides import override_protocol, split_settings
from genbench.protocols.protocol import Protocol
from genbench.registry import Provided, Registry, get_registry
from genbench.runner.acquire import Acquired, TrainingPlan, acquire_model, plan_training
from genbench.runner.context import RunContext
from genbench.runner.distributed import ProcessGroup, process_group
from genbench.runner.gallery import draw_gallery
from genbench.runner.options import RunOptions
from genbench.runner.plugin_calls import (check_determinism, naming_plugin, plugin_call, sample_images, sample_warnings,
                                          truncated_captions)
from genbench.runner.reference_pass import shared_reference_features
from genbench.runner.sampling import GRID_IMAGES, record_run_parts, sample_and_extract, shards_kept
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
    task: Task
    protocol: Protocol
    model_settings: dict[str, str]
    #: How the model is trained when no checkpoint is given (None with ``--checkpoint``).
    training: TrainingPlan | None
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
        try:
            plan = self.plan()
            evaluation = self.prepare(plan)
            acquired = self.acquire(plan, evaluation)
            evaluation = evaluation.converted(acquired.conversion)
            sampled = self.sample(plan, evaluation, acquired)
            return None if sampled is None else self.finish(plan, evaluation, acquired, sampled)
        except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: say what the interrupted step leaves behind
            note = self.ctx.interrupted_while() if self.ctx.interrupted_while else None
            raise Interrupted(note, terminated=isinstance(exc, Terminated)) from None

    def plan(self) -> RunPlan:
        """Resolve the options: unknown names, a task mismatch, a bad seed or an unwritable directory stop here."""
        opts, registry = self.options, self.ctx.registry
        started, clock = utc_now(), time.perf_counter()
        provided = registry.model(opts.plugin)
        spec = provided.item
        model_settings, recipe_overrides, protocol_overrides = split_settings(opts.settings)
        protocol = drop_metrics(override_protocol(registry.protocol(opts.protocol), protocol_overrides),
                                opts.drop_metrics)
        task = plugin_call(spec.name, "task_of", spec.model_class.task_of, opts.checkpoint)
        if task != protocol.task:
            held = f" with checkpoint {opts.checkpoint}" if spec.task_from_checkpoint else ""
            article = "an" if task.value[0] in "aeiou" else "a"
            raise ProtocolError(f"plugin '{spec.name}'{held} is {article} {task.value} model; protocol "
                                f"'{protocol.name}' evaluates {protocol.task.value} models")
        results_dir = ensure_writable(opts.results_dir)
        self.held.enter_context(in_use(results_dir))  # cleans up after dead runs when alone in it
        seed = check_run_seed(protocol.sampling.seed if opts.seed is None else opts.seed)
        training = plan_training(protocol, spec, recipe_overrides) if opts.checkpoint is None else None
        return RunPlan(provided, task, protocol, model_settings, training, seed, results_dir, started, clock)

    def prepare(self, plan: RunPlan) -> Evaluation:
        """The evaluation and the process group; every metric's check and (for a model still to be trained) its
        settings are refused here, before anything trains or samples."""
        ctx, protocol = self.ctx, plan.protocol
        evaluation = open_evaluation(protocol, self.options, ctx.registry, ctx.log)
        ctx.group = process_group(evaluation.device)
        ctx.progress = ctx.progress and ctx.group.is_main
        check_plan_size(protocol, evaluation.extractors, plan.results_dir / WORK_DIR, self.options.allow_large_plan)
        evaluation.check_metrics(plan_conditions(protocol, evaluation.reference, plan.seed))
        if plan.training is not None:  # the model will be created from this class: refuse bad settings now
            with naming_plugin(plan.spec.name):
                plan.spec.model_class.check_settings(plan.model_settings, plan.training.config)
        hint = busy_machine_hint(self.options.threads) if evaluation.device.type == "cpu" else None
        if hint:
            ctx.log(hint)
        return evaluation

    def acquire(self, plan: RunPlan, evaluation: Evaluation) -> Acquired:
        """The model, loaded or trained on the evaluation's device, told the protocol's geometry, configured with
        the run's settings (those it had before are its defaults), and the conversion of its images."""
        acquired = acquire_model(self.ctx, plan.provided, plan.protocol, plan.training, plan.seed, evaluation.device,
                                 plan.results_dir)
        name, model = plan.spec.name, acquired.model
        image_format = ImageFormat(plan.protocol.data.image_size, plan.protocol.data.channels)
        with naming_plugin(name):
            plugin_call(name, "prefer_format", model.prefer_format, image_format)
            defaults = recorded_settings(model)
            plugin_call(name, "configure", model.configure, **plan.model_settings)
            made = plugin_call(name, "image_format", lambda: model.image_format)
            conversion = plan_conversion(made, image_format, f"plugin '{name}'")
        if conversion.steps:
            self.log(f"plugin '{name}' makes {made.size}x{made.size} images with {made.channels} channels; genbench "
                     f"converts them to the protocol's ({'; '.join(conversion.steps)})")
        return dataclasses.replace(acquired, default_settings=defaults, conversion=conversion)

    def sample(self, plan: RunPlan, evaluation: Evaluation, acquired: Acquired) -> Sampled | None:
        """The probe, the sampling pass and the reference features; None on ranks other than the main one."""
        ctx, spec, protocol, model = self.ctx, plan.spec, plan.protocol, acquired.model
        conditions = plan_conditions(protocol, evaluation.reference, plan.seed)
        sample = functools.partial(sample_images, model, spec.name, acquired.conversion, conditions, plan.seed,
                                   evaluation.device)
        probe = ProbeImages(sample, protocol.sampling.num_samples) if ctx.group.is_main else None
        if probe is not None:
            check_determinism(probe, spec.name, self.options.allow_nondeterministic)
        code = code_identity(spec.model_class, plan.provided.plugin.distribution, plan.provided.plugin.version)
        run_parts = {"fingerprint": evaluation.fingerprint, "plugin": spec.name,
                     "checkpoint": acquired.checkpoint_sha256, "settings": recorded_settings(model),
                     "config": getattr(model, "config", None), "conversion": acquired.conversion.describe(),
                     "seed": plan.seed, "code": code,
                     "checkpoint_path": str(acquired.checkpoint) if acquired.checkpoint_sha256 is None else None,
                     "shards": DIGEST_FORMAT}
        stem = f"{protocol.name}-{spec.name}"
        work_dir = plan.results_dir / WORK_DIR / f"{stem}-{sha256_json(run_parts)[:20]}"
        work = self.held.enter_context(WorkDirectory(work_dir))  # shards stay for a resume until finish()
        record_run_parts(ctx, plan.results_dir, stem, work_dir, run_parts)
        ctx.interrupted_while = lambda: shards_kept(work_dir, protocol)
        generated, images, digests = sample_and_extract(ctx, sample, spec.name, protocol, evaluation.extractors,
                                                        conditions, work_dir)
        ctx.interrupted_while = None
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
        artifacts["gallery"] = draw_gallery(self.log, model, spec.name, protocol, evaluation, acquired.conversion,
                                            plan.results_dir, run_id)
        record = evaluation.record(
            run_id, reference, metrics, plan.started, plan.clock, opts.command,
            plugin={"name": spec.name, "model": spec.model_class.__name__, "description": spec.description,
                    "distribution": plan.provided.plugin.distribution, "version": plan.provided.plugin.version,
                    "task": plan.task.value, "checkpoint": str(acquired.checkpoint) if acquired.checkpoint else None,
                    "checkpoint_sha256": acquired.checkpoint_sha256, "config": getattr(model, "config", None),
                    "settings": recorded_settings(model), "default_settings": acquired.default_settings,
                    "capabilities": sorted(spec.model_class.capabilities),
                    "code": sampled.code},
            samples={"num_samples": protocol.sampling.num_samples, "seed": plan.seed,
                     "shard_size": protocol.sampling.shard_size,
                     "batch_size": opts.batch_size or protocol.sampling.batch_size,
                     "feature_batch_size": protocol.sampling.feature_batch_size,
                     "conditions": protocol.sampling.conditions,
                     "samples_per_caption": protocol.sampling.samples_per_caption,
                     "conversion": acquired.conversion.describe(),
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
