"""The runner: model -> seeded, resumable sampling shards -> one feature pass -> metrics -> speed -> result.

Every finished shard's features are saved in the run's work directory as it completes, so
re-running the same command after an interruption continues from there and ends with the
same numbers. The work directory is removed once the result file is written.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import os
import shutil
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from tqdm.auto import tqdm

from genbench.datasets.base import DataRequest, ImageDataset
from genbench.trust.determinism import HOW_TO_FIX, ProbeImages
from genbench.trust.digests import FORMAT as DIGEST_FORMAT, distinct_count, image_digests
from genbench.runner.distributed import ProcessGroup, local_device, process_group, share_file
from genbench.errors import DataError, GenbenchError, MetricError, PluginError, ProtocolError
from genbench.extractors.base import FeatureExtractor
from genbench.extractors.feature_pass import extract_features, select
from genbench.runner.gallery import render_gallery
from genbench.storage.images import save_grid, save_images
from genbench.trust.hashing import checkpoint_sha256, sha256_file, sha256_json
from genbench.storage.housekeeping import WORK_DIR, WorkDirectory, in_use
from genbench.runner.speed import machine_load, speed_conditions
from genbench.metrics.base import MetricInputs
from genbench.metrics.bootstrap import compute_metric
from genbench.runner.speed import measure_speed
from genbench.models.base import GenerativeModel, ImageFormat, ModelSpec, SampleBatch, TrainingData, TrainingReport, check_settings_read, recorded_settings
from genbench.models.precision import sampling_precision
from genbench.evaluation.preflight import check_metric_requirements
from genbench.protocols.protocol import Protocol, check_declared_settings, parse_protocol
from genbench.trust.provenance import environment
from genbench.trust.code_identity import code_identity
from genbench.runner.quiet import library_output_held
from genbench.storage.caches import default_cache_dir
from genbench.trust.reference_identity import reference_identity
from genbench.runner.reference_pass import shared_reference_features
from genbench.registry import Provided, Registry, get_registry
from genbench.storage.results import RESULT_SCHEMA_VERSION, ensure_writable, new_run_id, utc_now, write_result
from genbench.protocols.conditions import Conditions, caption_groups, plan_conditions
from genbench.runner.shards import Shard, plan_shards
from genbench.trust.seeds import check_run_seed, sample_seed, training_seed
from genbench.runner.shards import assign_shards, gather_shards
from genbench.storage.files import atomic_write_text, load_verified, save_verified
from genbench.runner.threads import use_threads
from genbench.runner.checkpoint_store import checkpoint_path, numeric_environment, report_path, training_lock, verified_report, write_report
from genbench.models.training import bar_disabled, choose_recipe
from genbench.runner.validation import validate_batch
from genbench.storage.weights import exported_weights_dir

GRID_IMAGES = 64
#: Shard tensor holding each image's digest (first 8 bytes of the SHA-256 of its pixels, as int64).
DIGESTS = "image_digests"
#: A run whose share of distinct images is below this gets a warning (a plugin returning one image for every seed).
DISTINCT_WARNING_SHARE = 0.9
#: File in a work directory recording what the run's key was made of.
RUN_PARTS = "run.json"


@dataclass
class RunOptions:
    """Everything ``genbench run`` accepts; the Python API takes the same names."""

    plugin: str
    protocol: str
    checkpoint: Path | None = None
    device: str | None = None
    seed: int | None = None
    results_dir: Path = Path("results")
    settings: dict[str, str] = field(default_factory=dict)
    batch_size: int | None = None
    save_samples: bool = False
    quiet: bool = False
    cache_dir: Path | None = None
    weights_dir: Path | None = None
    data_dir: Path | None = None
    trust_weights: bool = False
    threads: int | None = None
    command: list[str] | None = None
    #: Score against a reference set whose identity differs from the protocol's pin (own fingerprint).
    allow_reference_mismatch: bool = False
    #: Run a plugin that fails the determinism probe; the result says ``deterministic: false`` and is not ranked.
    allow_nondeterministic: bool = False


@dataclass
class ExtractorContext:
    """What extractor builders may need besides their protocol settings."""

    device: torch.device
    weights_dir: Path | None
    trust_weights: bool
    cache_dir: Path
    data_dir: Path | None
    registry: Registry | None = None


@dataclass
class Evaluation:
    """A protocol made ready to score samples: device, metric settings, built extractors, the reference
    set with its content identity, and the fingerprint that covers all of them."""

    protocol: Protocol
    device: torch.device
    context: ExtractorContext
    metric_settings: dict[str, dict[str, Any]]
    extractors: dict[str, FeatureExtractor]
    reference: ImageDataset
    reference_identity: dict[str, Any]
    fingerprint: str


def resolve_device(name: str | None) -> torch.device:
    """``cuda`` when present and nothing was asked for; an unavailable device is an error."""
    if name is None:
        return local_device() or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise GenbenchError(f"unknown device '{name}' (use cpu, cuda or cuda:N)") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise GenbenchError(f"device '{name}' asked for, but CUDA is not available on this machine")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise GenbenchError(f"device '{name}' asked for, but only {torch.cuda.device_count()} CUDA devices exist")
    return device


def check_options(options: RunOptions) -> None:
    """Numbers that reach the runner without argparse (the Python API) are checked the same way."""
    for name, low in (("batch_size", 1), ("seed", 0)):
        value = getattr(options, name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < low):
            raise GenbenchError(f"{name} must be a whole number of at least {low}, got {value!r}")


def split_settings(settings: dict[str, str]) -> tuple[dict[str, str], dict[str, Any], dict[str, str]]:
    """``--set`` pairs -> (model settings, training recipe overrides ``train.*``, protocol overrides ``protocol.*``)."""
    model, recipe, protocol = {}, {}, {}
    for key, value in settings.items():
        if key.startswith("train."):
            recipe[key[len("train."):]] = _literal(value)
        elif key.startswith("protocol."):
            protocol[key[len("protocol."):]] = value
        else:
            model[key] = value
    return model, recipe, protocol


def _literal(value: Any) -> Any:
    """'3' -> 3, '0.5' -> 0.5, 'true' -> True; other strings stay strings."""
    if not isinstance(value, str):
        return value
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(value.lower(), value)


def override_protocol(protocol: Protocol, overrides: dict[str, str]) -> Protocol:
    """A copy of ``protocol`` with dotted fields replaced; it gets its own fingerprint."""
    if not overrides:
        return protocol
    raw = copy.deepcopy(protocol.raw)
    for dotted, value in overrides.items():
        *path, last = dotted.split(".")
        table = raw
        for part in path:
            if not isinstance(table.get(part), dict):
                raise ProtocolError(f"--set protocol.{dotted}: protocol '{protocol.name}' has no table '{part}'")
            table = table[part]
        if last not in table:
            raise ProtocolError(f"--set protocol.{dotted}: protocol '{protocol.name}' has no field '{last}'")
        table[last] = _literal(value)
    return parse_protocol(raw, source=f"{protocol.source} (with --set overrides)")


def build_extractors(protocol: Protocol, registry: Registry, context: ExtractorContext) -> dict[str, FeatureExtractor]:
    """Every extractor the protocol names, built on the run's device with its weights checked."""
    extractors = {}
    for name, settings in protocol.extractors.items():
        spec = registry.extractor(settings["kind"])
        extractors[name] = spec.build({k: v for k, v in settings.items() if k != "kind"}, context)
    for entry in protocol.metrics:
        names = extractors[entry.extractor].feature_names
        if entry.feature not in names:
            raise ProtocolError(f"protocol {protocol.source}: metric '{entry.key}' reads feature '{entry.feature}' "
                                f"that extractor '{entry.extractor}' does not provide (it has: {', '.join(names)})")
    return extractors


def metric_settings(protocol: Protocol, registry: Registry) -> dict[str, dict[str, Any]]:
    """Each metric's settings (defaults overridden by the protocol), after refusing every setting of the
    protocol's data set, extractors and metrics that they do not declare."""
    check_declared_settings(protocol, registry)
    resolved = {}
    for entry in protocol.metrics:
        spec = registry.metric(entry.metric)
        resolved[entry.key] = {**spec.defaults, **entry.settings, "feature": entry.feature}
    return resolved


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


def checked_reference_identity(protocol: Protocol, reference: ImageDataset, allow_mismatch: bool) -> dict[str, Any]:
    """The reference set's identity (``genbench.trust.reference_identity``), refused when it is not the protocol's pin
    unless ``allow_mismatch`` (then it carries ``mismatch: {expected, found}``)."""
    identity = reference_identity(reference)
    pinned = protocol.data.reference_sha256
    if pinned is None or pinned == identity["sha256"]:
        return identity
    if not allow_mismatch:
        raise DataError(f"reference data of protocol '{protocol.name}' ({protocol.data.dataset}/"
                        f"{protocol.data.reference_split}) has identity {identity['sha256']}, the protocol pins "
                        f"{pinned} (another release or a damaged copy?); pass --allow-reference-mismatch to score "
                        f"against it under its own fingerprint")
    return {**identity, "mismatch": {"expected": pinned, "found": identity["sha256"]}}


def reference_section(evaluation: Evaluation, cache_hits: dict[str, bool]) -> dict[str, Any]:
    """The result's ``reference`` section: split, size, content identity, cache use and what loading found."""
    reference, identity = evaluation.reference, evaluation.reference_identity
    section = {"split": evaluation.protocol.data.reference_split, "num_images": len(reference),
               "sha256": identity["sha256"], "identity": identity["parts"], "cache_hits": cache_hits}
    if identity.get("mismatch"):
        section["mismatch"] = identity["mismatch"]
    return {**section, "data_info": reference.info} if reference.info else section


def shard_path(work_dir: Path, index: int) -> Path:
    """Where shard ``index`` of a run keeps its features (and grid images) until the result is written."""
    return work_dir / f"shard-{index:06d}.safetensors"


def _plugin_call(plugin: str, hook: str, fn, *args, **kwargs):
    """Call a plugin method; a foreign exception becomes a ``PluginError`` naming plugin and hook."""
    try:
        return fn(*args, **kwargs)
    except GenbenchError:
        raise
    except Exception as exc:
        if os.environ.get("GENBENCH_DEBUG"):
            raise
        raise PluginError(f"plugin '{plugin}' {hook}() raised {type(exc).__name__}: {exc}") from exc


def _sample(model: GenerativeModel, plugin: str, batch: SampleBatch) -> torch.Tensor:
    """The plugin's samples for ``batch``, in the precision it was configured with (``--set precision=...``)."""
    with sampling_precision(model, batch.device):
        return _plugin_call(plugin, "sample", model.sample, batch)


@contextmanager
def _naming_plugin(plugin: str) -> Iterator[None]:
    """A ``PluginError`` that does not name ``plugin`` (a refused setting) is re-raised with its name in front."""
    try:
        yield
    except PluginError as exc:
        if str(exc).startswith(f"plugin '{plugin}'"):
            raise
        raise PluginError(f"plugin '{plugin}': {exc}") from None


class Runner:
    """One evaluation run; ``run()`` returns the result record it wrote."""

    def __init__(self, options: RunOptions, registry: Registry | None = None):
        self.options = options
        use_threads(options.threads)
        self.registry = registry or get_registry()
        self.progress = not options.quiet
        self.group = ProcessGroup()

    def log(self, message: str) -> None:
        if self.progress:
            tqdm.write(f"genbench: {message}")

    def run(self) -> dict[str, Any] | None:
        """Run the evaluation and write the result; under ``torchrun`` only the main rank returns it.

        ``--weights-dir`` reaches plugins (frozen CLIP towers, pretrained autoencoders) as
        ``GENBENCH_WEIGHTS`` for the run's duration, so their loaders search it like extractors do.
        """
        with exported_weights_dir(self.options.weights_dir), ExitStack() as self.held:
            return self._run()

    def _run(self) -> dict[str, Any] | None:
        opts, registry = self.options, self.registry
        check_options(opts)
        started, clock = utc_now(), time.perf_counter()
        provided: Provided[ModelSpec] = registry.model(opts.plugin)
        spec = provided.item
        model_settings, recipe_overrides, protocol_overrides = split_settings(opts.settings)
        protocol = override_protocol(registry.protocol(opts.protocol), protocol_overrides)
        if spec.task != protocol.task:
            raise ProtocolError(f"plugin '{spec.name}' is a {spec.task.value} model; protocol '{protocol.name}' "
                                f"evaluates {protocol.task.value} models")
        results_dir = ensure_writable(opts.results_dir)
        self.held.enter_context(in_use(results_dir))  # cleans up after dead runs when alone in it
        seed = check_run_seed(protocol.sampling.seed if opts.seed is None else opts.seed)
        evaluation = self.prepare(protocol)
        device, extractors, fingerprint = evaluation.device, evaluation.extractors, evaluation.fingerprint
        self.group = process_group(device)
        self.progress = self.progress and self.group.is_main
        reference = evaluation.reference
        check_metric_requirements(protocol, registry, evaluation.metric_settings, extractors, len(reference),
                                  plan_conditions(protocol, reference))  # before anything trains or samples

        if opts.checkpoint is None:  # the model will be created from this class: refuse bad settings before training
            with _naming_plugin(spec.name):
                spec.model_class.check_settings(model_settings)
        model, training, checkpoint = self.obtain_model(provided, protocol, recipe_overrides, seed, device, results_dir)
        with _naming_plugin(spec.name):
            _plugin_call(spec.name, "configure", model.configure, **model_settings)
        if training is not None:
            checkpoint_sha = training["checkpoint_sha256"]
        else:
            checkpoint_sha = checkpoint_sha256(checkpoint)  # a pipeline directory is hashed as a tree

        conditions = plan_conditions(protocol, reference)
        sample = functools.partial(self.sample_images, model, spec.name, protocol, conditions, seed, device)
        probe = ProbeImages(sample, protocol.sampling.num_samples) if self.group.is_main else None
        if probe is not None:
            self.check_determinism(probe, spec.name)
        code = code_identity(spec.model_class, provided.plugin.distribution, provided.plugin.version)
        run_parts = {"fingerprint": fingerprint, "plugin": spec.name, "checkpoint": checkpoint_sha,
                     "settings": recorded_settings(model), "seed": seed, "code": code,
                     "checkpoint_path": str(checkpoint) if checkpoint_sha is None else None,
                     "shards": DIGEST_FORMAT}
        stem = f"{protocol.name}-{spec.name}"
        work_dir = results_dir / WORK_DIR / f"{stem}-{sha256_json(run_parts)[:20]}"
        work = self.held.enter_context(WorkDirectory(work_dir))  # shards stay for a resume until finish()
        self.record_run_parts(results_dir, stem, work_dir, run_parts)
        generated, images, digests = self.sample_and_extract(sample, spec.name, protocol, extractors, conditions,
                                                             work_dir)
        reference_pass = self.reference_features(evaluation)  # every rank takes part
        if not self.group.is_main:
            return None
        probe.compare_with_run(images[:len(probe.images)])
        self.check_determinism(probe, spec.name)
        warnings = sample_warnings(probe, digests)
        for warning in warnings:
            self.log(f"warning: {warning}")
        metrics, reference_info = self.evaluate(evaluation, generated, conditions, reference_pass)
        self.log("measuring sampling speed")
        speed = _plugin_call(spec.name, "sample", self.measure_speed, model, protocol, conditions, device)
        check_settings_read(model, spec.name)

        run_id = new_run_id(protocol.name, spec.name)
        artifacts = {"grid": f"{run_id}.grid.png", "samples_dir": None}
        save_grid(images[:GRID_IMAGES], results_dir / artifacts["grid"])
        if opts.save_samples:
            artifacts["samples_dir"] = f"{run_id}.samples"
            save_images(images, results_dir / artifacts["samples_dir"])
        artifacts["gallery"] = self.gallery(model, spec.name, protocol, extractors, device, results_dir, run_id)
        record = result_record(
            evaluation, run_id, reference_info, metrics, started, clock, opts.command,
            plugin={"name": spec.name, "model": spec.model_class.__name__, "description": spec.description,
                    "distribution": provided.plugin.distribution, "version": provided.plugin.version,
                    "task": spec.task.value, "checkpoint": str(checkpoint) if checkpoint else None,
                    "checkpoint_sha256": checkpoint_sha, "config": getattr(model, "config", None),
                    "settings": recorded_settings(model), "capabilities": sorted(spec.model_class.capabilities),
                    "code": code},
            samples={"num_samples": protocol.sampling.num_samples, "seed": seed,
                     "shard_size": protocol.sampling.shard_size,
                     "batch_size": opts.batch_size or protocol.sampling.batch_size,
                     "feature_batch_size": protocol.sampling.feature_batch_size,
                     "conditions": protocol.sampling.conditions,
                     "samples_per_caption": protocol.sampling.samples_per_caption,
                     "captions_truncated_by_model": self.truncated_captions(model, spec.name, conditions),
                     "distinct": distinct_count(digests), "determinism": probe.summary()},
            warnings=warnings,
            speed=speed,
            parameters=model.parameter_counts(),
            training=training,
            artifacts=artifacts,
        )
        path = write_result(results_dir, record)
        work.finish()
        self.log(f"result written to {path}")
        record["path"] = str(path)
        return record

    def prepare(self, protocol: Protocol) -> Evaluation:
        """Resolve the device, the metric settings and the extractors (weights checked) of ``protocol``, load its
        reference set and check its identity against the protocol's pin; the fingerprint covers all three."""
        opts = self.options
        device = resolve_device(opts.device)
        settings_by_metric = metric_settings(protocol, self.registry)
        context = ExtractorContext(device, opts.weights_dir, opts.trust_weights,
                                   Path(opts.cache_dir or default_cache_dir()), opts.data_dir, self.registry)
        extractors = build_extractors(protocol, self.registry, context)
        reference = self.load_data(protocol, protocol.data.reference_split)
        identity = checked_reference_identity(protocol, reference, opts.allow_reference_mismatch)
        if identity.get("mismatch"):
            self.log(f"reference data differs from the protocol's pin ({identity['mismatch']['expected'][:16]}...): "
                     f"scored under its own fingerprint, never ranked with the standard one")
        fingerprint = protocol.fingerprint({n: e.identity for n, e in extractors.items()}, identity["sha256"])
        return Evaluation(protocol, device, context, settings_by_metric, extractors, reference, identity, fingerprint)

    def evaluate(self, evaluation: Evaluation, generated: dict[str, torch.Tensor], conditions: Conditions,
                 reference_pass: tuple[dict[str, torch.Tensor], dict[str, bool]] | None = None,
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The protocol's metrics of generated features against the (cached) reference features."""
        protocol, reference = evaluation.protocol, evaluation.reference
        ref_features, hits = reference_pass or self.reference_features(evaluation)
        metrics = self.compute_metrics(protocol, self.registry, evaluation.metric_settings, generated, ref_features,
                                       conditions, reference.num_classes)
        return metrics, reference_section(evaluation, hits)

    def reference_features(self, evaluation: Evaluation) -> tuple[dict[str, torch.Tensor], dict[str, bool]] | None:
        """The reference set's features and cache hits on the main rank (None on the others, which extract their
        block on a miss), cached under the set's content identity (a changed copy never hits)."""
        protocol = evaluation.protocol
        identity = {**self.data_identity(protocol, protocol.data.reference_split),
                    "sha256": evaluation.reference_identity["sha256"]}
        return shared_reference_features(self.group, evaluation.reference, identity, evaluation.extractors,
                                         protocol.extractors, protocol.sampling.feature_batch_size,
                                         evaluation.context.cache_dir)

    def data_identity(self, protocol: Protocol, split: str) -> dict[str, Any]:
        data = protocol.data
        return {"dataset": data.dataset, "split": split, "image_size": data.image_size,
                "channels": data.channels, "options": data.options}

    def load_data(self, protocol: Protocol, split: str) -> ImageDataset:
        data = protocol.data
        request = DataRequest(split, data.image_size, data.channels,
                              Path(self.options.data_dir) if self.options.data_dir else None, data.options)
        dataset = self.registry.dataset(data.dataset).load(request)
        expected = (data.channels, data.image_size, data.image_size)
        if dataset.images.dtype != torch.uint8 or tuple(dataset.images.shape[1:]) != expected:
            raise PluginError(f"dataset '{data.dataset}' returned {dataset.images.dtype} images of shape "
                              f"{tuple(dataset.images.shape[1:])}; the protocol needs uint8 {expected}")
        return dataset

    def obtain_model(self, provided: Provided[ModelSpec], protocol: Protocol, recipe_overrides: dict[str, Any],
                     seed: int, device: torch.device,
                     results_dir: Path) -> tuple[GenerativeModel, dict[str, Any] | None, Path | None]:
        """Load the given checkpoint, or train with the protocol's recipe (reusing a finished, verified training).

        Returns the model, the training section of the result (None for a given checkpoint) and the checkpoint.
        """
        spec = provided.item
        cls = spec.model_class
        if self.options.checkpoint is not None:
            local = Path(self.options.checkpoint).exists()  # a hub name may download: its progress stays live
            with library_output_held(local):
                model = _plugin_call(spec.name, "load", cls.load, Path(self.options.checkpoint), device)
            return model, None, Path(self.options.checkpoint)
        chosen = choose_recipe(protocol, spec, recipe_overrides)
        recipe = dict(chosen.values)
        config = {**spec.default_config, **recipe.pop("config", {})}
        train_split = protocol.data.train_split
        if train_split is None:
            raise ProtocolError(f"protocol '{protocol.name}' has a training recipe but no data.train_split")
        identity = {"plugin": spec.name, "config": config, "recipe": recipe, "seed": seed,
                    "data": self.data_identity(protocol, train_split),
                    "code": code_identity(cls, provided.plugin.distribution, provided.plugin.version),
                    "environment": numeric_environment(device)}
        path = checkpoint_path(results_dir, spec.name, protocol.name, identity)
        if self.group.is_main:  # only the main rank trains (or verifies); the others receive its bytes
            with training_lock(path):
                report, why = verified_report(path, identity)
                if report is None:
                    if path.exists():
                        self.log(f"not reusing {path}: {why}; training again")
                    report = self.train(cls, spec.name, protocol, train_split, config, recipe, seed, device, path)
                    report = dataclasses.replace(report, recipe={**recipe, **report.recipe},
                                                 recipe_source=chosen.source)
                    write_report(path, report, identity)
                    self.log(f"checkpoint saved to {path}")
                else:
                    self.log(f"reusing trained checkpoint {path} (SHA-256 verified)")
        share_file(self.group, path, "sharing the trained checkpoint")
        share_file(self.group, report_path(path), "sharing the training report")
        if not self.group.is_main:
            report, why = verified_report(path, identity)
            if report is None:
                raise GenbenchError(f"rank {self.group.rank}: checkpoint {path} is not usable after training: {why}")
        model = _plugin_call(spec.name, "load", cls.load, path, device)
        training = {**dataclasses.asdict(report), "identity": identity, "checkpoint_sha256": sha256_file(path)}
        return model, training, path

    def train(self, cls: type[GenerativeModel], plugin: str, protocol: Protocol, split: str, config: dict[str, Any],
              recipe: dict[str, Any], seed: int, device: torch.device, path: Path) -> TrainingReport:
        """Create and train a model from the run seed's training seed and save it to ``path``."""
        data = self.load_data(protocol, split)
        image_format = ImageFormat(protocol.data.image_size, protocol.data.channels)
        self.log(f"training {plugin} on {protocol.data.dataset}/{split} ({len(data)} images)")
        generator_seed = training_seed(seed)
        torch.manual_seed(generator_seed)  # the random initialisation is part of a seeded training
        model = _plugin_call(plugin, "create", cls.create, image_format, config, data.num_classes)
        report = _plugin_call(plugin, "train", model.train,
                              TrainingData(data.pixels(), data.labels, data.captions, data.num_classes),
                              recipe, generator_seed, device, self.progress)
        _plugin_call(plugin, "save", model.save, path)
        return report

    def record_run_parts(self, results_dir: Path, stem: str, work_dir: Path, run_parts: dict[str, Any]) -> None:
        """Write what the run's key is made of into its work directory; an unfinished run of other code or
        settings in a sibling directory is not resumed, and the log says what differs."""
        if self.group.is_main and not (work_dir / RUN_PARTS).exists():
            comparable = json.loads(json.dumps(run_parts, default=str))
            for sibling in sorted((results_dir / WORK_DIR).glob(f"{stem}-*/{RUN_PARTS}")):
                try:
                    earlier = json.loads(sibling.read_text(encoding="utf-8"))
                    changed = sorted(k for k in comparable if earlier.get(k) != comparable[k])
                except (OSError, ValueError, AttributeError):
                    continue
                self.log(f"not resuming the unfinished run in {sibling.parent}: changed since: "
                         f"{', '.join(changed)}; starting fresh")
            atomic_write_text(work_dir / RUN_PARTS, json.dumps(comparable, sort_keys=True, indent=1))

    def sample_images(self, model: GenerativeModel, plugin: str, protocol: Protocol, conditions: Conditions,
                      seed: int, device: torch.device, indices: list[int]) -> torch.Tensor:
        """Images ``indices`` of the run (their seeds and conditions) in one ``sample`` call in the model's precision,
        validated; they stay on the sampling device."""
        own = conditions.pick(indices)
        batch = SampleBatch([sample_seed(seed, i) for i in indices], device, own.labels, own.captions)
        images = _sample(model, plugin, batch)
        image_format = ImageFormat(protocol.data.image_size, protocol.data.channels)
        return validate_batch(images, len(batch), image_format, plugin)

    def check_determinism(self, probe: ProbeImages, plugin: str) -> None:
        """Stop a plugin whose images do not depend on their seeds alone, unless ``--allow-nondeterministic``."""
        if probe.deterministic or self.options.allow_nondeterministic:
            return
        raise PluginError(f"plugin '{plugin}' is not deterministic: {'; '.join(probe.problems)}; {HOW_TO_FIX} "
                          f"(or pass --allow-nondeterministic: the result is then marked and never ranked)")

    def sample_and_extract(self, sample: Callable[[list[int]], torch.Tensor], plugin: str, protocol: Protocol,
                           extractors: dict[str, FeatureExtractor], conditions: Conditions,
                           work_dir: Path) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
        """Features of all generated images (keyed ``extractor/feature``), the images kept for the grid and
        each image's digest (``image_digests``)."""
        sampling = protocol.sampling
        shards = plan_shards(sampling.num_samples, sampling.shard_size)
        local = {s.index: t for s in shards if (t := load_verified(shard_path(work_dir, s.index))) is not None}
        owners = assign_shards(self.group.all_gather_flags([s.index in local for s in shards],
                                                           "sharing which shards are finished"))
        todo = [s for s in shards if owners[s.index] == self.group.rank and s.index not in local]
        if local:
            self.log(f"resuming: {len(local)} of {len(shards)} shards already done in {work_dir}")
        bar = tqdm(total=sampling.num_samples, initial=sampling.num_samples - sum(len(s) for s in todo),
                   desc=f"sampling {plugin}", unit="img", disable=bar_disabled(self.progress), leave=False)
        for shard in todo:
            local[shard.index] = self.run_shard(sample, protocol, extractors, conditions, shard, work_dir, bar)
        bar.close()
        done = gather_shards(self.group, shards, owners, local)
        self.keep_shards_on_main(work_dir, shards, done)
        if done is None:
            return {}, torch.empty(0), torch.empty(0)
        keys = [k for k in done[0] if k not in ("images", DIGESTS)]
        features = {k: torch.cat([done[s.index][k] for s in shards]) for k in keys}
        images = torch.cat([done[s.index]["images"] for s in shards if "images" in done[s.index]])
        digests = torch.cat([done[s.index][DIGESTS] for s in shards])
        return features, images, digests

    def keep_shards_on_main(self, work_dir: Path, shards: list[Shard],
                            done: dict[int, dict[str, torch.Tensor]] | None) -> None:
        """Once the main rank holds every shard, the other ranks delete their work directories and the main rank
        saves the shards it lacks in its own, so a restart from here resumes on the main rank alone."""
        if not self.group.is_distributed:
            return
        self.group.barrier("handing the shards to rank 0")
        if done is None:
            shutil.rmtree(work_dir, ignore_errors=True)
        self.group.barrier("handing the shards to rank 0")
        if done is not None:
            for shard in shards:
                if not shard_path(work_dir, shard.index).exists():
                    save_verified(shard_path(work_dir, shard.index), done[shard.index], {"start": shard.start})

    def run_shard(self, sample: Callable[[list[int]], torch.Tensor], protocol: Protocol,
                  extractors: dict[str, FeatureExtractor], conditions: Conditions, shard: Shard, work_dir: Path,
                  bar) -> dict[str, torch.Tensor]:
        batch_size = self.options.batch_size or protocol.sampling.batch_size
        parts = []
        for start in range(shard.start, shard.stop, batch_size):
            stop = min(start + batch_size, shard.stop)
            parts.append(sample(list(range(start, stop))))  # stays on the sampling device
            bar.update(stop - start)
        images = torch.cat(parts)
        tensors = extract_features(extractors, images, conditions.slice(shard.start, shard.stop).captions,
                                   protocol.sampling.feature_batch_size)
        tensors[DIGESTS] = image_digests(images)  # on the sampling device
        if shard.index * protocol.sampling.shard_size < GRID_IMAGES or self.options.save_samples:
            tensors["images"] = images.cpu()  # only the grid's shards and --save-samples come to the CPU
        save_verified(shard_path(work_dir, shard.index), tensors, {"start": shard.start})
        return tensors

    def compute_metrics(self, protocol: Protocol, registry: Registry, settings_by_metric: dict[str, dict[str, Any]],
                        generated: dict[str, torch.Tensor], reference: dict[str, torch.Tensor],
                        conditions: Conditions, num_classes: int | None) -> dict[str, Any]:
        labels = torch.tensor(conditions.labels) if conditions.labels is not None else None
        groups = torch.tensor(caption_groups(conditions.captions)) if conditions.captions is not None else None
        out = {}
        for entry in protocol.metrics:
            spec = registry.metric(entry.metric)
            settings = settings_by_metric[entry.key]
            inputs = MetricInputs(select(generated, entry.extractor),
                                  select(reference, entry.extractor) if spec.needs_reference else None,
                                  settings, labels, num_classes, groups)
            try:
                value = compute_metric(spec, inputs)
            except MetricError as exc:
                raise MetricError(f"metric '{entry.key}': {exc}") from None
            out[entry.key] = {"metric": spec.name, "extractor": entry.extractor, "feature": entry.feature,
                              "settings": settings, "value": value.value, "std": value.std,
                              "higher_is_better": spec.higher_is_better, "extras": value.extras,
                              "interval": value.interval}
        return out

    def gallery(self, model: GenerativeModel, plugin: str, protocol: Protocol,
                extractors: dict[str, FeatureExtractor], device: torch.device, results_dir: Path,
                run_id: str) -> list[dict[str, Any]]:
        """Grids of the protocol's prompts with fixed seeds (see ``genbench.runner.gallery``)."""
        if not protocol.prompts:
            return []
        self.log(f"drawing the prompt gallery ({len(protocol.prompts)} prompts)")
        image_format = ImageFormat(protocol.data.image_size, protocol.data.channels)

        def sample(batch: SampleBatch) -> torch.Tensor:
            return validate_batch(_sample(model, plugin, batch), len(batch), image_format, plugin).cpu()

        clip = next((extractors[n] for n, s in protocol.extractors.items() if s["kind"] == "clip"), None)
        return render_gallery(sample, protocol.prompts, protocol.gallery_samples, device, results_dir, run_id, clip)

    @staticmethod
    def truncated_captions(model: GenerativeModel, plugin: str, conditions: Conditions) -> int | None:
        """How many of the run's captions the model's text encoder cut (None for unconditional/class runs)."""
        if conditions.captions is None:
            return None
        return int(_plugin_call(plugin, "truncated_captions", model.truncated_captions, conditions.captions))

    def measure_speed(self, model: GenerativeModel, protocol: Protocol, conditions: Conditions,
                      device: torch.device) -> dict[str, Any]:
        """Time batches of the run's first conditions with seeds of their own (never evaluated), with the
        machine's load before and after (``genbench.runner.speed``)."""
        speed = protocol.speed

        def cycle(values: list | None, b: int) -> list | None:
            return [values[i % len(values)] for i in range(b)] if values else None

        def sample(b: int):
            seeds = [sample_seed(2 ** 20, i) for i in range(b)]
            with sampling_precision(model, device):
                return model.sample(SampleBatch(seeds, device, cycle(conditions.labels, b),
                                                cycle(conditions.captions, b)))

        before = machine_load(device)
        measured = measure_speed(sample, speed.batch_sizes, speed.warmup, speed.repeats, device,
                                 model.network_evaluations)
        return {**measured, **speed_conditions(before, machine_load(device), device)}


def result_record(evaluation: Evaluation, run_id: str, reference: dict[str, Any], metrics: dict[str, Any],
                  started: str, clock: float, command: list[str] | None, **sections: Any) -> dict[str, Any]:
    """A result record (schema in ``genbench.storage.results``): the evaluation's parts plus ``sections``
    (plugin, samples, speed, parameters, training, artifacts)."""
    protocol = evaluation.protocol
    return {
        "schema_version": RESULT_SCHEMA_VERSION,
        "run_id": run_id,
        "status": "measured",
        "protocol": {"name": protocol.name, "version": protocol.version, "fingerprint": evaluation.fingerprint,
                     "task": protocol.task.value, "description": protocol.description,
                     "source": protocol.source, "definition": protocol.definition()},
        **sections,
        "extractors": {n: {"kind": protocol.extractors[n]["kind"], **e.describe()}
                       for n, e in evaluation.extractors.items()},
        "reference": reference,
        "metrics": metrics,
        "environment": environment(evaluation.device),
        "command": command,
        "started_at": started,
        "finished_at": utc_now(),
        "duration_seconds": time.perf_counter() - clock,
    }


def run(plugin: str, protocol: str, **options: Any) -> dict[str, Any]:
    """Evaluate ``plugin`` on ``protocol`` and return the result record (also written to disk)."""
    return Runner(RunOptions(plugin=plugin, protocol=protocol, **options)).run()
