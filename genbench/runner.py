"""The runner: model -> seeded, resumable sampling shards -> one feature pass -> metrics -> speed -> result.

Every finished shard's features are saved in the run's work directory as it completes, so
re-running the same command after an interruption continues from there and ends with the
same numbers. The work directory is removed once the result file is written.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch
from tqdm.auto import tqdm

from genbench.datasets.base import DataRequest, ImageDataset
from genbench.distributed import ProcessGroup, local_device, process_group, share_file
from genbench.errors import GenbenchError, MetricError, PluginError, ProtocolError
from genbench.extractors.base import FeatureExtractor
from genbench.featurepass import extract_features, select
from genbench.gallery import render_gallery
from genbench.grid import save_grid, save_images
from genbench.hashing import sha256_file, sha256_json
from genbench.metrics.base import MetricInputs
from genbench.metrics.speed import measure_speed
from genbench.model import GenerativeModel, ImageFormat, ModelSpec, SampleBatch, TrainingData, TrainingReport
from genbench.precision import sampling_precision
from genbench.protocol import Protocol, parse_protocol
from genbench.provenance import environment
from genbench.reference_cache import default_cache_dir
from genbench.reference_pass import shared_reference_features
from genbench.registry import Provided, Registry, get_registry
from genbench.results import RESULT_SCHEMA_VERSION, ensure_writable, new_run_id, utc_now, write_result
from genbench.sampling import Conditions, Shard, caption_groups, plan_conditions, plan_shards, sample_seed
from genbench.sharding import assign_shards, gather_shards
from genbench.storage import atomic_write_text, load_verified, save_verified
from genbench.training import bar_disabled
from genbench.validation import validate_batch
from genbench.weights import exported_weights_dir

GRID_IMAGES = 64


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
    command: list[str] | None = None


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
    """A protocol made ready to score samples: device, metric settings, built extractors, fingerprint."""

    protocol: Protocol
    device: torch.device
    context: ExtractorContext
    metric_settings: dict[str, dict[str, Any]]
    extractors: dict[str, FeatureExtractor]
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
    """Each metric's settings (defaults overridden by the protocol); unknown settings are errors."""
    resolved = {}
    for entry in protocol.metrics:
        spec = registry.metric(entry.metric)
        unknown = set(entry.settings) - set(spec.defaults)
        if unknown:
            raise ProtocolError(f"protocol {protocol.source}: field 'metrics.{entry.key}.{sorted(unknown)[0]}' is not "
                                f"a setting of metric '{spec.name}' (settings: {', '.join(spec.defaults) or 'none'})")
        resolved[entry.key] = {**spec.defaults, **entry.settings, "feature": entry.feature}
    return resolved


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
        with exported_weights_dir(self.options.weights_dir):
            return self._run()

    def _run(self) -> dict[str, Any] | None:
        opts, registry = self.options, self.registry
        started, clock = utc_now(), time.perf_counter()
        provided: Provided[ModelSpec] = registry.model(opts.plugin)
        spec = provided.item
        model_settings, recipe_overrides, protocol_overrides = split_settings(opts.settings)
        protocol = override_protocol(registry.protocol(opts.protocol), protocol_overrides)
        if spec.task != protocol.task:
            raise ProtocolError(f"plugin '{spec.name}' is a {spec.task.value} model; protocol '{protocol.name}' "
                                f"evaluates {protocol.task.value} models")
        results_dir = ensure_writable(opts.results_dir)
        seed = protocol.sampling.seed if opts.seed is None else opts.seed
        evaluation = self.prepare(protocol)
        device, extractors, fingerprint = evaluation.device, evaluation.extractors, evaluation.fingerprint
        self.group = process_group(device)
        self.progress = self.progress and self.group.is_main
        reference = self.load_data(protocol, protocol.data.reference_split)
        if opts.checkpoint is None:  # the model will be created from this class: refuse bad settings before training
            with _naming_plugin(spec.name):
                spec.model_class.check_settings(model_settings)
        model, training, checkpoint = self.obtain_model(spec, protocol, recipe_overrides, seed, device, results_dir)
        with _naming_plugin(spec.name):
            _plugin_call(spec.name, "configure", model.configure, **model_settings)
        checkpoint_sha = sha256_file(checkpoint) if checkpoint and checkpoint.is_file() else None

        conditions = plan_conditions(protocol, reference)
        run_key = sha256_json({"fingerprint": fingerprint, "plugin": spec.name, "checkpoint": checkpoint_sha,
                               "settings": model.setting_values, "seed": seed,
                               "checkpoint_path": str(checkpoint) if checkpoint_sha is None else None})[:20]
        work_dir = results_dir / ".work" / f"{protocol.name}-{spec.name}-{run_key}"
        generated, images = self.sample_and_extract(model, spec.name, protocol, extractors, conditions,
                                                    seed, device, work_dir)
        reference_pass = self.reference_features(evaluation, reference)  # every rank takes part
        if not self.group.is_main:
            return None
        metrics, reference_section = self.evaluate(evaluation, reference, generated, conditions, reference_pass)
        self.log("measuring sampling speed")
        speed = _plugin_call(spec.name, "sample", self.measure_speed, model, protocol, conditions, device)

        run_id = new_run_id(protocol.name, spec.name)
        artifacts = {"grid": f"{run_id}.grid.png", "samples_dir": None}
        save_grid(images[:GRID_IMAGES], results_dir / artifacts["grid"])
        if opts.save_samples:
            artifacts["samples_dir"] = f"{run_id}.samples"
            save_images(images, results_dir / artifacts["samples_dir"])
        artifacts["gallery"] = self.gallery(model, spec.name, protocol, extractors, device, results_dir, run_id)
        record = result_record(
            evaluation, run_id, reference_section, metrics, started, clock, opts.command,
            plugin={"name": spec.name, "model": spec.model_class.__name__, "description": spec.description,
                    "distribution": provided.plugin.distribution, "version": provided.plugin.version,
                    "task": spec.task.value, "checkpoint": str(checkpoint) if checkpoint else None,
                    "checkpoint_sha256": checkpoint_sha, "config": getattr(model, "config", None),
                    "settings": model.setting_values, "capabilities": sorted(spec.model_class.capabilities)},
            samples={"num_samples": protocol.sampling.num_samples, "seed": seed,
                     "shard_size": protocol.sampling.shard_size,
                     "batch_size": opts.batch_size or protocol.sampling.batch_size,
                     "feature_batch_size": protocol.sampling.feature_batch_size,
                     "conditions": protocol.sampling.conditions,
                     "samples_per_caption": protocol.sampling.samples_per_caption,
                     "captions_truncated_by_model": self.truncated_captions(model, spec.name, conditions)},
            speed=speed,
            parameters=model.parameter_counts(),
            training=dataclasses.asdict(training) if training else None,
            artifacts=artifacts,
        )
        path = write_result(results_dir, record)
        shutil.rmtree(work_dir, ignore_errors=True)
        self.log(f"result written to {path}")
        record["path"] = str(path)
        return record

    def prepare(self, protocol: Protocol) -> Evaluation:
        """Resolve the device, the metric settings and the extractors (weights checked) of ``protocol``."""
        opts = self.options
        device = resolve_device(opts.device)
        settings_by_metric = metric_settings(protocol, self.registry)
        context = ExtractorContext(device, opts.weights_dir, opts.trust_weights,
                                   Path(opts.cache_dir or default_cache_dir()), opts.data_dir, self.registry)
        extractors = build_extractors(protocol, self.registry, context)
        fingerprint = protocol.fingerprint({n: e.weights_sha256 for n, e in extractors.items()})
        return Evaluation(protocol, device, context, settings_by_metric, extractors, fingerprint)

    def reference_features(self, evaluation: Evaluation, reference: ImageDataset,
                           ) -> tuple[dict[str, torch.Tensor], dict[str, bool]] | None:
        """The (cached) reference features and cache hits on the main rank, extracted by all ranks on a miss."""
        protocol = evaluation.protocol
        return shared_reference_features(
            self.group, reference, self.data_identity(protocol, protocol.data.reference_split), evaluation.extractors,
            protocol.extractors, protocol.sampling.feature_batch_size, evaluation.context.cache_dir)

    def evaluate(self, evaluation: Evaluation, reference: ImageDataset, generated: dict[str, torch.Tensor],
                 conditions: Conditions, reference_pass: tuple[dict[str, torch.Tensor], dict[str, bool]] | None = None,
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The protocol's metrics of generated features against the (cached) reference features."""
        protocol = evaluation.protocol
        ref_features, hits = reference_pass or self.reference_features(evaluation, reference)
        metrics = self.compute_metrics(protocol, self.registry, evaluation.metric_settings, generated, ref_features,
                                       conditions, reference.num_classes)
        section = {"split": protocol.data.reference_split, "num_images": len(reference), "cache_hits": hits}
        return metrics, {**section, "data_info": reference.info} if reference.info else section

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

    def obtain_model(self, spec: ModelSpec, protocol: Protocol, recipe_overrides: dict[str, Any], seed: int,
                     device: torch.device, results_dir: Path) -> tuple[GenerativeModel, TrainingReport | None, Path | None]:
        """Load the given checkpoint, or train with the protocol's recipe (reusing a finished training)."""
        cls = spec.model_class
        if self.options.checkpoint is not None:
            model = _plugin_call(spec.name, "load", cls.load, Path(self.options.checkpoint), device)
            return model, None, Path(self.options.checkpoint)
        recipe = protocol.recipe_for(spec.name)
        if recipe is None:
            raise PluginError(f"no checkpoint given and protocol '{protocol.name}' has no training recipe for "
                              f"plugin '{spec.name}': pass --checkpoint PATH")
        recipe.update(recipe_overrides)
        config = {**spec.default_config, **recipe.pop("config", {})}
        train_split = protocol.data.train_split
        if train_split is None:
            raise ProtocolError(f"protocol '{protocol.name}' has a training recipe but no data.train_split")
        identity = {"plugin": spec.name, "config": config, "recipe": recipe, "seed": seed,
                    "data": self.data_identity(protocol, train_split)}
        path = results_dir / "checkpoints" / f"{spec.name}-{protocol.name}-{sha256_json(identity)[:12]}.safetensors"
        report_path = path.with_name(path.name + ".training.json")
        model = None  # only the main rank trains (or reuses its checkpoint); the others receive its bytes
        if self.group.is_main and path.exists() and report_path.exists():
            self.log(f"reusing trained checkpoint {path}")
        elif self.group.is_main:
            model = self.train(spec, protocol, train_split, config, recipe, seed, device, path, report_path)
        share_file(self.group, path, "sharing the trained checkpoint")
        share_file(self.group, report_path, "sharing the training report")
        report = TrainingReport(**json.loads(report_path.read_text(encoding="utf-8")))
        if model is None:
            model = _plugin_call(spec.name, "load", cls.load, path, device)
        return model, report, path

    def train(self, spec: ModelSpec, protocol: Protocol, train_split: str, config: dict[str, Any],
              recipe: dict[str, Any], seed: int, device: torch.device, path: Path, report_path: Path) -> GenerativeModel:
        """Train with the protocol's recipe and save the checkpoint and its training report."""
        cls = spec.model_class
        data = self.load_data(protocol, train_split)
        image_format = ImageFormat(protocol.data.image_size, protocol.data.channels)
        self.log(f"training {spec.name} on {protocol.data.dataset}/{train_split} ({len(data)} images)")
        torch.manual_seed(seed)  # the random initialisation is part of a seeded training
        model = _plugin_call(spec.name, "create", cls.create, image_format, config, data.num_classes)
        report = _plugin_call(spec.name, "train", model.train,
                              TrainingData(data.pixels(), data.labels, data.captions, data.num_classes),
                              recipe, seed, device, self.progress)
        _plugin_call(spec.name, "save", model.save, path)
        atomic_write_text(report_path, json.dumps(dataclasses.asdict(report), sort_keys=True))
        self.log(f"checkpoint saved to {path}")
        return model.to(device).eval()

    def sample_and_extract(self, model: GenerativeModel, plugin: str, protocol: Protocol,
                           extractors: dict[str, FeatureExtractor], conditions: Conditions, seed: int,
                           device: torch.device, work_dir: Path) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Features of all generated images (keyed ``extractor/feature``) and the images kept for the grid."""
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
            local[shard.index] = self.run_shard(model, plugin, protocol, extractors, conditions, seed, device,
                                                shard, work_dir, bar)
        bar.close()
        done = gather_shards(self.group, shards, owners, local)
        self.keep_shards_on_main(work_dir, shards, done)
        if done is None:
            return {}, torch.empty(0)
        keys = [k for k in done[0] if k != "images"]
        features = {k: torch.cat([done[s.index][k] for s in shards]) for k in keys}
        images = torch.cat([done[s.index]["images"] for s in shards if "images" in done[s.index]])
        return features, images

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

    def run_shard(self, model, plugin, protocol, extractors, conditions, seed, device, shard: Shard,
                  work_dir: Path, bar) -> dict[str, torch.Tensor]:
        batch_size = self.options.batch_size or protocol.sampling.batch_size
        image_format = ImageFormat(protocol.data.image_size, protocol.data.channels)
        parts = []
        for start in range(shard.start, shard.stop, batch_size):
            stop = min(start + batch_size, shard.stop)
            own = conditions.slice(start, stop)
            batch = SampleBatch([sample_seed(seed, i) for i in range(start, stop)], device, own.labels, own.captions)
            images = _sample(model, plugin, batch)
            parts.append(validate_batch(images, len(batch), image_format, plugin))  # stays on the sampling device
            bar.update(stop - start)
        images = torch.cat(parts)
        tensors = extract_features(extractors, images, conditions.slice(shard.start, shard.stop).captions,
                                   protocol.sampling.feature_batch_size)
        if shard.index * protocol.sampling.shard_size < GRID_IMAGES or self.options.save_samples:
            tensors["images"] = images.cpu()  # only what the grid and --save-samples keep comes back
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
                value = spec.compute(inputs)
            except MetricError as exc:
                raise MetricError(f"metric '{entry.key}': {exc}") from None
            out[entry.key] = {"metric": spec.name, "extractor": entry.extractor, "feature": entry.feature,
                              "settings": settings, "value": value.value, "std": value.std,
                              "higher_is_better": spec.higher_is_better, "extras": value.extras}
        return out

    def gallery(self, model: GenerativeModel, plugin: str, protocol: Protocol,
                extractors: dict[str, FeatureExtractor], device: torch.device, results_dir: Path,
                run_id: str) -> list[dict[str, Any]]:
        """Grids of the protocol's prompts with fixed seeds (see ``genbench.gallery``)."""
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
        """Time batches of the run's first conditions with seeds of their own (never evaluated)."""
        speed = protocol.speed

        def cycle(values: list | None, b: int) -> list | None:
            return [values[i % len(values)] for i in range(b)] if values else None

        def sample(b: int):
            seeds = [sample_seed(2 ** 20, i) for i in range(b)]
            with sampling_precision(model, device):
                return model.sample(SampleBatch(seeds, device, cycle(conditions.labels, b),
                                                cycle(conditions.captions, b)))

        return measure_speed(sample, speed.batch_sizes, speed.warmup, speed.repeats, device,
                             model.network_evaluations)


def result_record(evaluation: Evaluation, run_id: str, reference: dict[str, Any], metrics: dict[str, Any],
                  started: str, clock: float, command: list[str] | None, **sections: Any) -> dict[str, Any]:
    """A result record (schema in ``genbench.results``): the evaluation's parts plus ``sections``
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
