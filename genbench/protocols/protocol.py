"""Protocols as data: TOML files (read with the standard library's safe ``tomllib``), validated on load.

A protocol pins everything that changes a number: data set, split, image size, sample count,
seeds, conditions, feature extractors (and their weights' hashes) and metric settings. Its
fingerprint hashes exactly those, so two results are comparable if and only if their
fingerprints are equal. The training recipe, description and prompt gallery (``prompts`` and
``[gallery]``) are recorded but left out of the fingerprint: they change which model is
evaluated or what pictures are saved, not how the ranked numbers are computed.

Parsing follows the one schema of the file format, ``genbench.protocols.schema.PROTOCOL_KEYS``.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genbench.errors import GenbenchError, ProtocolError
from genbench.models.base import Task
from genbench.protocols.schema import CONDITIONS, DECLARED_BY, PROTOCOL_KEYS, REQUIRED, check_keys
from genbench.storage.files import TOML_FILE_LIMIT, read_regular_file
from genbench.trust.fingerprint import protocol_fingerprint
from genbench.trust.seeds import CLASS_PLAN_VERSION, check_run_seed


@dataclass(frozen=True)
class DataSection:
    dataset: str
    image_size: int
    channels: int
    reference_split: str
    train_split: str | None
    options: dict[str, Any]
    #: The pinned content identity of the reference set (``genbench.trust.reference_identity``), or None.
    reference_sha256: str | None = None


@dataclass(frozen=True)
class SamplingSection:
    num_samples: int
    seed: int
    shard_size: int
    batch_size: int
    feature_batch_size: int
    conditions: str
    #: Consecutive images generated from one caption (>= 2 lets per-caption diversity be measured).
    samples_per_caption: int = 1


@dataclass(frozen=True)
class SpeedSection:
    batch_sizes: tuple[int, ...]
    warmup: int
    repeats: int


@dataclass(frozen=True)
class MetricEntry:
    """One reported number: ``key`` in results, computed by ``metric`` on ``extractor``'s ``feature``."""

    key: str
    metric: str
    extractor: str
    feature: str
    settings: dict[str, Any]


@dataclass(frozen=True)
class Protocol:
    """A validated protocol. ``raw`` is the parsed file, kept for the record and the fingerprint."""

    name: str
    version: int
    description: str
    task: Task
    data: DataSection
    sampling: SamplingSection
    speed: SpeedSection
    extractors: dict[str, dict[str, Any]]
    metrics: tuple[MetricEntry, ...]
    training: dict[str, dict[str, Any]]
    prompts: tuple[str, ...]
    raw: dict[str, Any] = field(repr=False)
    source: str = "<memory>"
    #: Images per gallery prompt (``[gallery] samples_per_prompt``), drawn with fixed seeds.
    gallery_samples: int = 8
    #: Former names that still select this protocol (``genbench.registry`` says so each time).
    aliases: tuple[str, ...] = ()

    def definition(self) -> dict[str, Any]:
        """The parts of the file that change numbers (everything but description, aliases, training, prompts,
        gallery)."""
        kept = copy.deepcopy(self.raw)
        for key in ("description", "aliases", "training", "prompts", "gallery"):
            kept.pop(key, None)
        return kept

    def fingerprint(self, extractor_weights: dict[str, Any], reference_sha256: str) -> str:
        """Hash of the definition, each extractor's identity (``FeatureExtractor.identity``: the SHA-256 of the
        weights actually used, and build-time settings such as CLIP's preprocessing mode), the content identity
        of the reference data actually read, the sampling plan's version (how image i's seed is derived) and, when
        the protocol asks for classes, the class plan's version (which class image i gets)."""
        class_plan = CLASS_PLAN_VERSION if self.sampling.conditions == "classes" else None
        return protocol_fingerprint(self.definition(), extractor_weights, reference_sha256, class_plan)

    def recipe_for(self, plugin: str) -> dict[str, Any] | None:
        """The training recipe for a plugin, merged over the protocol's ``[training.default]``."""
        if plugin not in self.training and "default" not in self.training:
            return None
        recipe = dict(self.training.get("default", {}))
        recipe.update(self.training.get(plugin, {}))
        return recipe

    def training_recipe(self, plugin: str, plugin_default: dict[str, Any] | None = None) -> "TrainingRecipe | None":
        """The recipe a run trains ``plugin`` with, and its source: the protocol's ``[training.PLUGIN]``
        (over its ``[training.default]``), else the plugin's own ``plugin_default``, else the protocol's
        ``[training.default]``; None when there is none of these."""
        if plugin in self.training:
            over = " over [training.default]" if "default" in self.training else ""
            return TrainingRecipe(self.recipe_for(plugin), f"protocol {self.name} [training.{plugin}]{over}")
        if plugin_default is not None:
            return TrainingRecipe(copy.deepcopy(plugin_default), f"plugin {plugin} default_recipe")
        if "default" in self.training:
            return TrainingRecipe(self.recipe_for(plugin), f"protocol {self.name} [training.default]")
        return None


@dataclass(frozen=True)
class TrainingRecipe:
    """A training recipe and where it comes from (recorded in the result as ``training.recipe_source``)."""

    values: dict[str, Any]
    source: str


class _Table:
    """One table of a protocol file read against its schema in ``PROTOCOL_KEYS``; errors name the file and key."""

    def __init__(self, table: dict[str, Any], schema: str, path: str, source: str):
        self.table, self.schema, self.path, self.source = table, PROTOCOL_KEYS[schema], path, source
        if schema not in DECLARED_BY:
            check_keys(table, self.schema, path, source)

    def fail(self, key: str, message: str) -> ProtocolError:
        return ProtocolError(f"protocol {self.source}: field '{self.path + '.' if self.path else ''}{key}' {message}")

    def get(self, key: str, default: Any = ...) -> Any:
        """The value of ``key``, checked against its type; ``default`` replaces a ``DERIVED`` default."""
        spec = self.schema[key]
        if key not in self.table:
            default = spec.default if default is ... else default
            if default is REQUIRED:
                raise self.fail(key, "is missing")
            return copy.deepcopy(default)
        value = self.table[key]
        ok = isinstance(value, spec.kind) and not (spec.kind is int and isinstance(value, bool))
        if spec.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise self.fail(key, f"must be {spec.kind.__name__}, got {value!r}")
        if spec.positive and value <= 0:
            raise self.fail(key, f"must be positive, got {value!r}")
        return value

    def sub(self, key: str) -> "_Table":
        """A table of this one (``[data]``) checked against its own schema."""
        value = self.get(key)
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        return _Table(value, key, key, self.source)

    def entries(self, key: str) -> dict[str, "_Table"]:
        """The tables of a table of tables (``[metrics.NAME]``), each checked against the ``key.NAME`` schema."""
        entries = {}
        for name, value in self.get(key).items():
            if not isinstance(value, dict):
                raise self.fail(f"{key}.{name}", "must be a table")
            entries[name] = _Table(value, f"{key}.NAME", f"{key}.{name}", self.source)
        return entries


def _run_seed(sampling: _Table) -> int:
    seed = sampling.get("seed")
    try:
        return check_run_seed(seed)
    except GenbenchError:
        raise sampling.fail("seed", f"must be from 0 to 2**63 - 1, got {seed}") from None


def parse_protocol(raw: dict[str, Any], source: str = "<memory>") -> Protocol:
    """Validate a parsed protocol file against ``PROTOCOL_KEYS`` and build the ``Protocol``."""
    top = _Table(raw, "", "", source)
    name = top.get("name")
    task_name = top.get("task")
    try:
        task = Task(task_name)
    except ValueError:
        raise top.fail("task", f"must be one of {[t.value for t in Task]}, got {task_name!r}") from None

    data = top.sub("data")
    generic = PROTOCOL_KEYS["data"]
    data_section = DataSection(
        dataset=data.get("dataset"),
        image_size=data.get("image_size"),
        channels=data.get("channels"),
        reference_split=data.get("reference_split"),
        train_split=data.get("train_split"),
        options={k: v for k, v in data.table.items() if k not in generic},
        reference_sha256=data.get("reference_sha256"),
    )
    if data_section.channels not in (1, 3):
        raise data.fail("channels", f"must be 1 or 3, got {data_section.channels}")

    sampling = top.sub("sampling")
    conditions = sampling.get("conditions")
    if conditions not in CONDITIONS:
        raise sampling.fail("conditions", f"must be one of {list(CONDITIONS)}, got {conditions!r}")
    feature_batch = sampling.get("feature_batch_size")
    shard_size = sampling.get("shard_size")
    if shard_size % feature_batch:
        raise sampling.fail("shard_size", f"must be a multiple of feature_batch_size ({feature_batch}), got {shard_size}")
    sampling_section = SamplingSection(
        num_samples=sampling.get("num_samples"),
        seed=_run_seed(sampling),
        shard_size=shard_size,
        batch_size=sampling.get("batch_size", shard_size),
        feature_batch_size=feature_batch,
        conditions=conditions,
        samples_per_caption=sampling.get("samples_per_caption"),
    )
    if sampling_section.samples_per_caption > 1 and conditions != "captions":
        raise sampling.fail("samples_per_caption", "needs conditions = 'captions'")
    expected = {Task.UNCONDITIONAL: "none", Task.CLASS_CONDITIONAL: "classes", Task.TEXT_TO_IMAGE: "captions"}[task]
    if conditions != expected:
        raise sampling.fail("conditions", f"must be '{expected}' for task '{task.value}', got {conditions!r}")

    speed = top.sub("speed")
    batch_sizes = speed.get("batch_sizes", [1, sampling_section.batch_size])
    if not batch_sizes or not all(isinstance(b, int) and b > 0 for b in batch_sizes):
        raise speed.fail("batch_sizes", f"must be a list of positive integers, got {batch_sizes!r}")
    speed_section = SpeedSection(tuple(batch_sizes), speed.get("warmup"), speed.get("repeats"))

    extractors: dict[str, dict[str, Any]] = {}
    for ext_name, ext in top.entries("extractors").items():
        ext.get("kind")
        extractors[ext_name] = dict(ext.table)

    metrics = []
    for key, entry in top.entries("metrics").items():
        extractor = entry.get("extractor")
        if extractor not in extractors:
            raise entry.fail("extractor", f"names no extractor of this protocol (have: {', '.join(extractors)})")
        metrics.append(MetricEntry(
            key=key,
            metric=entry.get("metric"),
            extractor=extractor,
            feature=entry.get("feature"),
            settings={k: v for k, v in entry.table.items() if k not in PROTOCOL_KEYS["metrics.NAME"]},
        ))
    if not metrics:
        raise top.fail("metrics", "must name at least one metric")

    training = {}
    for plugin, recipe in top.entries("training").items():
        for key in recipe.table:
            recipe.get(key)
        training[plugin] = dict(recipe.table)
    aliases = top.get("aliases")
    if not all(isinstance(a, str) and a != name for a in aliases):
        raise top.fail("aliases", "must be a list of names other than the protocol's own")
    prompts = top.get("prompts")
    if not all(isinstance(p, str) for p in prompts):
        raise top.fail("prompts", "must be a list of strings")
    if prompts and task != Task.TEXT_TO_IMAGE:
        raise top.fail("prompts", f"needs task 'text-to-image', not '{task.value}'")
    gallery = top.sub("gallery")

    return Protocol(
        name=name,
        version=top.get("version"),
        description=top.get("description"),
        task=task,
        data=data_section,
        sampling=sampling_section,
        speed=speed_section,
        extractors=extractors,
        metrics=tuple(metrics),
        training=training,
        prompts=tuple(prompts),
        aliases=tuple(aliases),
        raw=raw,
        source=source,
        gallery_samples=gallery.get("samples_per_prompt"),
    )


def load_protocol_file(path: Path) -> Protocol:
    """Read and validate a protocol TOML file; any problem is a one-line ``ProtocolError``."""
    data = read_regular_file(Path(path), TOML_FILE_LIMIT, "protocol file", ProtocolError)
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"protocol {path}: not valid TOML: {exc}") from None
    return parse_protocol(raw, source=str(path))


def builtin_protocol_files() -> list[Path]:
    """The protocol files shipped inside the genbench package."""
    return sorted(Path(__file__).parent.glob("*.toml"))
