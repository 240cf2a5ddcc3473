"""Every table and key of a protocol file, as one data structure: docs/protocols.md is generated from it.

The same shape as the issue-9 helper's ``genbench.protocol.PROTOCOL_KEYS`` (which also drives parsing
there); until both branches meet, ``tests/test_protocol_schema.py`` checks that this copy agrees with
``parse_protocol``: required keys are refused when missing, defaults are the parser's, and every key
of a shipped protocol is described. Once merged, this module gives way to ``genbench.protocol``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class _Marker:
    """A default that is not a value: ``REQUIRED`` (the key must be given) or ``DERIVED`` (computed from others)."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


REQUIRED = _Marker("REQUIRED")
DERIVED = _Marker("DERIVED")


@dataclass(frozen=True)
class Key:
    """One key of a protocol table: its TOML type, its default (a value, ``REQUIRED`` or ``DERIVED``) and meaning."""

    kind: type
    doc: str
    default: Any = REQUIRED
    positive: bool = False


#: Every key a protocol file may hold, table by table; ``""`` is the top level and ``X.NAME`` one
#: entry of the table of tables ``[X]``. Any other key is refused, naming the closest known key.
#: Tables in ``DECLARED_BY`` also accept the settings their component declares (see there).
PROTOCOL_KEYS: dict[str, dict[str, Key]] = {
    "": {
        "name": Key(str, "the name `--protocol` takes and results are grouped by"),
        "version": Key(int, "bumped whenever the definition changes", positive=True),
        "task": Key(str, "what models are conditioned on: unconditional, class-conditional or text-to-image"),
        "description": Key(str, "one line for listings and leaderboards (not in the fingerprint)", ""),
        "prompts": Key(list, "captions drawn as fixed-seed gallery grids, text-to-image only "
                             "(not in the fingerprint)", []),
        "data": Key(dict, "the data set: reference images and training images"),
        "sampling": Key(dict, "how many images are generated, with which seeds and conditions"),
        "speed": Key(dict, "the timed sampling section", {}),
        "extractors": Key(dict, "feature extractors, one [extractors.NAME] table each"),
        "metrics": Key(dict, "reported numbers, one [metrics.NAME] table each (NAME is the result key)"),
        "training": Key(dict, "training recipes, one [training.PLUGIN] table each, [training.default] for "
                              "every other plugin (not in the fingerprint)", {}),
        "gallery": Key(dict, "the prompt gallery (not in the fingerprint)", {}),
    },
    "data": {
        "dataset": Key(str, "a registered data set (`genbench list`)"),
        "image_size": Key(int, "side of the square images, generated and reference", positive=True),
        "channels": Key(int, "1 (grey) or 3 (RGB)", positive=True),
        "reference_split": Key(str, "the split generated images are compared with"),
        "train_split": Key(str, "the split training recipes train on; none: no training", None),
    },
    "sampling": {
        "num_samples": Key(int, "images generated per run", positive=True),
        "seed": Key(int, "the run seed (`--seed` overrides it)", 0),
        "shard_size": Key(int, "images per resumable shard; a multiple of feature_batch_size", positive=True),
        "batch_size": Key(int, "images per sample() call (shard_size when absent; changes no metric)",
                          DERIVED, positive=True),
        "feature_batch_size": Key(int, "images per extractor call", 50, positive=True),
        "conditions": Key(str, "none, classes or captions; must fit the task", "none"),
        "samples_per_caption": Key(int, "consecutive images per caption (captions only)", 1, positive=True),
    },
    "speed": {
        "batch_sizes": Key(list, "batch sizes timed ([1, sampling.batch_size] when absent)", DERIVED),
        "warmup": Key(int, "untimed batches before timing", 1),
        "repeats": Key(int, "timed batches per batch size", 3, positive=True),
    },
    "extractors.NAME": {
        "kind": Key(str, "a registered extractor kind (`genbench list`)"),
    },
    "metrics.NAME": {
        "metric": Key(str, "a registered metric (`genbench list`)"),
        "extractor": Key(str, "the NAME of one of this protocol's [extractors.NAME] tables"),
        "feature": Key(str, "which of that extractor's features the metric reads"),
    },
    "training.NAME": {
        "epochs": Key(int, "passes over the training split", None, positive=True),
        "batch_size": Key(int, "images per training step", None, positive=True),
        "lr": Key(float, "learning rate (of the generator, for GANs)", None),
        "lr_d": Key(float, "discriminator learning rate (GANs)", None),
        "ema": Key(float, "decay of an exponential moving average of the weights; absent: no EMA", None),
        "max_steps": Key(int, "stop after this many steps (smoke runs)", None, positive=True),
        "weight_decay": Key(float, "L2 weight decay of Adam", None),
        "config": Key(dict, "plugin config (network widths, schedule) over the plugin's default_config", None),
    },
    "gallery": {
        "samples_per_prompt": Key(int, "images per gallery prompt", 8, positive=True),
    },
}

#: Tables that also take the settings of the component one of their keys names: ``data`` the options of
#: its ``dataset``, ``extractors.NAME`` the settings of its extractor ``kind``, ``metrics.NAME`` the
#: settings (``MetricSpec.defaults``) of its ``metric``.
DECLARED_BY: dict[str, str] = {"data": "dataset", "extractors.NAME": "kind", "metrics.NAME": "metric"}
