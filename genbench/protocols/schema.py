"""The protocol file format, declared once: every key of every table with its TOML type, default and meaning.

Parsing (``genbench.protocols.protocol``) follows ``PROTOCOL_KEYS``, docs/protocols.md is generated from it,
and any other key is refused with the closest known one, since a misspelled key would otherwise be stored
and silently fork the fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from genbench.errors import ProtocolError, did_you_mean
from genbench.models.training import RECIPE_KEYS

CONDITIONS = ("none", "classes", "captions")


class _Marker:
    """A default that is not a value: ``REQUIRED`` (the key must be given) or ``DERIVED`` (computed from others)."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


REQUIRED = _Marker("REQUIRED")
DERIVED = _Marker("DERIVED")


@dataclass(frozen=True)
class ProtocolKey:
    """One key of a protocol table: its TOML type, its default (a value, ``REQUIRED`` or ``DERIVED``) and meaning."""

    kind: type
    doc: str
    default: Any = REQUIRED
    positive: bool = False


#: Every key a protocol file may hold, table by table; ``""`` is the top level and ``X.NAME`` one
#: entry of the table of tables ``[X]``. Any other key is refused, naming the closest known key.
#: Tables in ``DECLARED_BY`` also accept the settings their component declares (see there). A
#: default of None means the key is simply absent (for recipe keys: the plugin's training loop decides).
PROTOCOL_KEYS: dict[str, dict[str, ProtocolKey]] = {
    "": {
        "name": ProtocolKey(str, "the name `--protocol` takes and results are grouped by"),
        "version": ProtocolKey(int, "bumped whenever the definition changes", positive=True),
        "task": ProtocolKey(str, "what models are conditioned on: unconditional, class-conditional or text-to-image"),
        "description": ProtocolKey(str, "one line for listings and leaderboards (not in the fingerprint)", ""),
        "aliases": ProtocolKey(list, "former names `--protocol` still accepts, each time with a notice naming the "
                               "current one (not in the fingerprint)", []),
        "prompts": ProtocolKey(list, "captions drawn as fixed-seed gallery grids, text-to-image only "
                             "(not in the fingerprint)", []),
        "data": ProtocolKey(dict, "the data set: reference images and training images"),
        "sampling": ProtocolKey(dict, "how many images are generated, with which seeds and conditions"),
        "speed": ProtocolKey(dict, "the timed sampling section", {}),
        "extractors": ProtocolKey(dict, "feature extractors, one [extractors.NAME] table each"),
        "metrics": ProtocolKey(dict, "reported numbers, one [metrics.NAME] table each (NAME is the result key)"),
        "training": ProtocolKey(dict, "training recipes, one [training.PLUGIN] table each, [training.default] for "
                              "every other plugin (not in the fingerprint)", {}),
        "gallery": ProtocolKey(dict, "the prompt gallery (not in the fingerprint)", {}),
    },
    "data": {
        "dataset": ProtocolKey(str, "a registered data set (`genbench list`)"),
        "image_size": ProtocolKey(int, "side of the square images, generated and reference", positive=True),
        "channels": ProtocolKey(int, "1 (grey) or 3 (RGB)", positive=True),
        "reference_split": ProtocolKey(str, "the split generated images are compared with"),
        "train_split": ProtocolKey(str, "the split training recipes train on; none: no training", None),
        "reference_sha256": ProtocolKey(str, "the pinned content identity of the reference split, as `genbench "
                                             "reference --protocol NAME --print-identity` prints it; another copy "
                                             "is refused", None),
    },
    "sampling": {
        "num_samples": ProtocolKey(int, "images generated per run", positive=True),
        "seed": ProtocolKey(int, "the run seed (`--seed` overrides it)", 0),
        "shard_size": ProtocolKey(int, "images per resumable shard; a multiple of feature_batch_size", positive=True),
        "batch_size": ProtocolKey(int, "images per sample() call (shard_size when absent; changes no metric)",
                          DERIVED, positive=True),
        "feature_batch_size": ProtocolKey(int, "images per extractor call", 50, positive=True),
        "conditions": ProtocolKey(str, "none, classes or captions; must fit the task", "none"),
        "samples_per_caption": ProtocolKey(int, "consecutive images per caption (captions only)", 1, positive=True),
    },
    "speed": {
        "batch_sizes": ProtocolKey(list, "batch sizes timed ([1, sampling.batch_size] when absent)", DERIVED),
        "warmup": ProtocolKey(int, "untimed batches before timing", 1),
        "repeats": ProtocolKey(int, "timed batches per batch size", 3, positive=True),
    },
    "extractors.NAME": {
        "kind": ProtocolKey(str, "a registered extractor kind (`genbench list`)"),
    },
    "metrics.NAME": {
        "metric": ProtocolKey(str, "a registered metric (`genbench list`)"),
        "extractor": ProtocolKey(str, "the NAME of one of this protocol's [extractors.NAME] tables"),
        "feature": ProtocolKey(str, "which of that extractor's features the metric reads"),
    },
    "training.NAME": {key: ProtocolKey(kind, doc, None, positive) for key, (kind, doc, positive) in RECIPE_KEYS.items()},
    "gallery": {
        "samples_per_prompt": ProtocolKey(int, "images per gallery prompt", 8, positive=True),
    },
}

#: Tables that also accept the settings of the component one of their keys names: ``data`` the
#: ``DatasetSpec.settings`` of its ``dataset``, ``extractors.NAME`` the ``ExtractorSpec.settings`` of
#: its ``kind``, ``metrics.NAME`` the ``MetricSpec.defaults`` of its ``metric``. Those are checked
#: against the installed plugins by ``check_declared_settings`` when the protocol is used.
DECLARED_BY: dict[str, str] = {"data": "dataset", "extractors.NAME": "kind", "metrics.NAME": "metric"}


def unknown_key(source: str, table: str, key: str, known: Iterable[str], component: str = "") -> ProtocolError:
    """The one-line error for a key a table does not have, naming the closest known key."""
    where = f"in [{table}]" if table else "at the top level"
    return ProtocolError(f"protocol {source}: unknown key '{key}' {where}{component}; {did_you_mean(key, known)}")


def check_keys(table: dict[str, Any], known: Iterable[str], path: str, source: str, component: str = "") -> None:
    """Refuse the first key of ``table`` not in ``known`` (a typo would silently fork the fingerprint)."""
    known = set(known)
    for key in table:
        if key not in known:
            raise unknown_key(source, path, key, known, component)
