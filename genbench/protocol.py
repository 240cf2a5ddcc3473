"""Protocols as data: TOML files (read with the standard library's safe ``tomllib``), validated on load.

A protocol pins everything that changes a number: data set, split, image size, sample count,
seeds, conditions, feature extractors (and their weights' hashes) and metric settings. Its
fingerprint hashes exactly those, so two results are comparable if and only if their
fingerprints are equal. The training recipe, description and prompt gallery (``prompts`` and
``[gallery]``) are recorded but left out of the fingerprint: they change which model is
evaluated or what pictures are saved, not how the ranked numbers are computed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genbench.errors import ProtocolError
from genbench.model import Task
from genbench.protocol_schema import DECLARED_BY, DERIVED, PROTOCOL_KEYS, REQUIRED, Key  # noqa: F401 (the schema)

CONDITIONS = ("none", "classes", "captions")


@dataclass(frozen=True)
class DataSection:
    dataset: str
    image_size: int
    channels: int
    reference_split: str
    train_split: str | None
    options: dict[str, Any]


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

    def definition(self) -> dict[str, Any]:
        """The parts of the file that change numbers (everything but description, training, prompts, gallery)."""
        kept = copy.deepcopy(self.raw)
        for key in ("description", "training", "prompts", "gallery"):
            kept.pop(key, None)
        return kept

    def fingerprint(self, extractor_weights: dict[str, str]) -> str:
        """Hash of the definition plus the SHA-256 of each extractor's weights actually used."""
        payload = {"definition": self.definition(), "extractor_weights": dict(sorted(extractor_weights.items()))}
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def recipe_for(self, plugin: str) -> dict[str, Any] | None:
        """The training recipe for a plugin, merged over the protocol's ``[training.default]``."""
        if plugin not in self.training and "default" not in self.training:
            return None
        recipe = dict(self.training.get("default", {}))
        recipe.update(self.training.get(plugin, {}))
        return recipe


class _Fields:
    """Typed access to one table of a protocol file; errors name the file and the field."""

    def __init__(self, table: dict[str, Any], prefix: str, source: str):
        self.table, self.prefix, self.source = table, prefix, source

    def fail(self, key: str, message: str) -> ProtocolError:
        return ProtocolError(f"protocol {self.source}: field '{self.prefix}{key}' {message}")

    def get(self, key: str, kind: type, default: Any = ..., positive: bool = False) -> Any:
        if key not in self.table:
            if default is ...:
                raise self.fail(key, "is missing")
            return default
        value = self.table[key]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise self.fail(key, f"must be {kind.__name__}, got {value!r}")
        if positive and value <= 0:
            raise self.fail(key, f"must be positive, got {value!r}")
        return value

    def sub(self, key: str, required: bool = True) -> "_Fields":
        value = self.table.get(key, None if required else {})
        if not isinstance(value, dict):
            raise self.fail(key, "is missing" if value is None else "must be a table")
        return _Fields(value, f"{self.prefix}{key}.", self.source)


def parse_protocol(raw: dict[str, Any], source: str = "<memory>") -> Protocol:
    """Validate a parsed protocol file and build the ``Protocol``."""
    top = _Fields(raw, "", source)
    name = top.get("name", str)
    task_name = top.get("task", str)
    try:
        task = Task(task_name)
    except ValueError:
        raise top.fail("task", f"must be one of {[t.value for t in Task]}, got {task_name!r}") from None

    data = top.sub("data")
    data_section = DataSection(
        dataset=data.get("dataset", str),
        image_size=data.get("image_size", int, positive=True),
        channels=data.get("channels", int, positive=True),
        reference_split=data.get("reference_split", str),
        train_split=data.get("train_split", str, None),
        options={k: v for k, v in data.table.items()
                 if k not in ("dataset", "image_size", "channels", "reference_split", "train_split")},
    )
    if data_section.channels not in (1, 3):
        raise data.fail("channels", f"must be 1 or 3, got {data_section.channels}")

    sampling = top.sub("sampling")
    conditions = sampling.get("conditions", str, "none")
    if conditions not in CONDITIONS:
        raise sampling.fail("conditions", f"must be one of {list(CONDITIONS)}, got {conditions!r}")
    feature_batch = sampling.get("feature_batch_size", int, 50, positive=True)
    shard_size = sampling.get("shard_size", int, positive=True)
    if shard_size % feature_batch:
        raise sampling.fail("shard_size", f"must be a multiple of feature_batch_size ({feature_batch}), got {shard_size}")
    sampling_section = SamplingSection(
        num_samples=sampling.get("num_samples", int, positive=True),
        seed=sampling.get("seed", int, 0),
        shard_size=shard_size,
        batch_size=sampling.get("batch_size", int, shard_size, positive=True),
        feature_batch_size=feature_batch,
        conditions=conditions,
        samples_per_caption=sampling.get("samples_per_caption", int, 1, positive=True),
    )
    if sampling_section.samples_per_caption > 1 and conditions != "captions":
        raise sampling.fail("samples_per_caption", "needs conditions = 'captions'")
    expected = {Task.UNCONDITIONAL: "none", Task.CLASS_CONDITIONAL: "classes", Task.TEXT_TO_IMAGE: "captions"}[task]
    if conditions != expected:
        raise sampling.fail("conditions", f"must be '{expected}' for task '{task.value}', got {conditions!r}")

    speed = top.sub("speed", required=False)
    batch_sizes = speed.get("batch_sizes", list, [1, sampling_section.batch_size])
    if not batch_sizes or not all(isinstance(b, int) and b > 0 for b in batch_sizes):
        raise speed.fail("batch_sizes", f"must be a list of positive integers, got {batch_sizes!r}")
    speed_section = SpeedSection(tuple(batch_sizes), speed.get("warmup", int, 1), speed.get("repeats", int, 3, positive=True))

    extractors_table = top.sub("extractors")
    extractors: dict[str, dict[str, Any]] = {}
    for ext_name in extractors_table.table:
        ext = extractors_table.sub(ext_name)
        ext.get("kind", str)
        extractors[ext_name] = dict(ext.table)

    metrics_table = top.sub("metrics")
    metrics = []
    for key in metrics_table.table:
        entry = metrics_table.sub(key)
        extractor = entry.get("extractor", str)
        if extractor not in extractors:
            raise entry.fail("extractor", f"names no extractor of this protocol (have: {', '.join(extractors)})")
        metrics.append(MetricEntry(
            key=key,
            metric=entry.get("metric", str),
            extractor=extractor,
            feature=entry.get("feature", str),
            settings={k: v for k, v in entry.table.items() if k not in ("metric", "extractor", "feature")},
        ))
    if not metrics:
        raise top.fail("metrics", "must name at least one metric")

    training_table = top.sub("training", required=False)
    training = {plugin: dict(training_table.sub(plugin).table) for plugin in training_table.table}
    prompts = top.get("prompts", list, [])
    if not all(isinstance(p, str) for p in prompts):
        raise top.fail("prompts", "must be a list of strings")
    if prompts and task != Task.TEXT_TO_IMAGE:
        raise top.fail("prompts", f"needs task 'text-to-image', not '{task.value}'")
    gallery = top.sub("gallery", required=False)

    return Protocol(
        name=name,
        version=top.get("version", int, positive=True),
        description=top.get("description", str, ""),
        task=task,
        data=data_section,
        sampling=sampling_section,
        speed=speed_section,
        extractors=extractors,
        metrics=tuple(metrics),
        training=training,
        prompts=tuple(prompts),
        raw=raw,
        source=source,
        gallery_samples=gallery.get("samples_per_prompt", int, 8, positive=True),
    )


def load_protocol_file(path: Path) -> Protocol:
    """Read and validate a protocol TOML file; any problem is a one-line ``ProtocolError``."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProtocolError(f"protocol file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"protocol {path}: not valid TOML: {exc}") from None
    return parse_protocol(raw, source=str(path))


def builtin_protocol_files() -> list[Path]:
    """The protocol files shipped inside the genbench package."""
    return sorted((Path(__file__).parent / "protocols").glob("*.toml"))
