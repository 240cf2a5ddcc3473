"""A reference classifier genbench trains itself on a protocol's data set on first use, then caches.

For data sets whose classifier is too large to ship (Fashion-MNIST, seed 002's judge), the
protocol names the data set and the training settings; the first run trains the same
``ReferenceClassifier`` as the digits one (seeded, on the CPU), measures its test accuracy
and stores it under ``CACHE/classifiers/`` with a record of its SHA-256 and accuracy. The
cache is keyed by the settings and by the content identity of the training and test data
actually read (``genbench.trust.reference_identity``), so a classifier trained on one copy of a data
set is never reused for another. Later runs load it after checking that hash. The hash enters
the protocol fingerprint like any extractor's weights, so results from differently trained
classifiers are never ranked together; a protocol may pin it with ``sha256``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from genbench.datasets.base import DataRequest, ImageDataset
from genbench.errors import WeightsError, notice
from genbench.extractors.base import ExtractorSpec
from genbench.extractors.classifier import (ClassifierExtractor, classifier_accuracy, load_classifier, save_classifier,
                                            train_reference_classifier)
from genbench.storage.files import CorruptFile, atomic_path, atomic_write_text, read_json_object
from genbench.trust.hashing import sha256_file, sha256_json
from genbench.trust.reference_identity import reference_identity

DEFAULTS = {"train_split": "train", "test_split": "test", "epochs": 10, "seed": 0, "batch_size": 128, "lr": 2e-3}
REQUIRED = ("dataset", "image_size", "channels")


class TrainedClassifierExtractor(ClassifierExtractor):
    """A ``ClassifierExtractor`` that also reports how its classifier was trained and how well it does."""

    def __init__(self, model, sha256: str, device: torch.device, record: dict[str, Any]):
        super().__init__(model, sha256, device)
        self.record = record

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "test_accuracy": self.record["test_accuracy"],
                "trained_on": self.record["trained_on"]}


def _load_split(settings: dict[str, Any], context: Any, split: str) -> ImageDataset:
    request = DataRequest(split, settings["image_size"], settings["channels"],
                          Path(context.data_dir) if context.data_dir else None)
    return context.load_dataset(settings["dataset"], request)


def _train(settings: dict[str, Any], train: ImageDataset, test: ImageDataset, trained_on: dict[str, Any],
           path: Path) -> dict[str, Any]:
    """Train on ``train``, save to ``path``, return the record (hash, accuracy on ``test``, what it was trained on)."""
    model = train_reference_classifier(train.images, train.labels, train.num_classes, epochs=settings["epochs"],
                                       seed=settings["seed"], batch_size=settings["batch_size"], lr=settings["lr"])
    with atomic_path(path) as tmp:
        save_classifier(model, tmp)
    return {"sha256": sha256_file(path), "test_accuracy": classifier_accuracy(model, test.images, test.labels),
            "trained_on": trained_on, "train_images": len(train), "test_images": len(test)}


def _cached_record(record_path: Path) -> dict[str, Any] | None:
    """The cached classifier's record; None when absent or corrupt (then it is trained again)."""
    try:
        return read_json_object(record_path, {"sha256": str, "test_accuracy": (int, float), "trained_on": dict})
    except FileNotFoundError:
        return None
    except CorruptFile as exc:
        notice(f"reference classifier record {record_path} is corrupt ({exc}); training the classifier again")
        return None


def build_dataset_classifier(settings: dict[str, Any], context: Any) -> TrainedClassifierExtractor:
    """Load the cached classifier for these settings and this copy of the data, training it first if there is none
    (or it is corrupt)."""
    missing = [key for key in REQUIRED if key not in settings]
    if missing:
        raise WeightsError(f"dataset-classifier extractor needs {', '.join(repr(k) for k in missing)} in the protocol")
    pinned = settings.get("sha256")
    settings = {**DEFAULTS, **{k: v for k, v in settings.items() if k != "sha256"}}
    train, test = (_load_split(settings, context, settings[key]) for key in ("train_split", "test_split"))
    trained_on = {**{k: settings[k] for k in ("dataset", "train_split", "test_split", "epochs", "seed")},
                  "train_data_sha256": reference_identity(train)["sha256"],
                  "test_data_sha256": reference_identity(test)["sha256"]}
    directory = Path(context.cache_dir) / "classifiers"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{settings['dataset']}-{sha256_json({**settings, **trained_on})[:16]}.safetensors"
    record_path = path.with_name(path.name + ".json")
    record = _cached_record(record_path)
    if record is None or not path.exists() or sha256_file(path) != record["sha256"]:
        record = _train(settings, train, test, trained_on, path)
        atomic_write_text(record_path, json.dumps(record, sort_keys=True))
    if pinned and record["sha256"] != pinned:
        raise WeightsError(f"reference classifier {path} has SHA-256 {record['sha256'][:16]}..., "
                           f"the protocol expects {pinned[:16]}...")
    return TrainedClassifierExtractor(load_classifier(path), record["sha256"], context.device, record)


DATASET_CLASSIFIER = ExtractorSpec(
    name="dataset-classifier",
    description="reference classifier trained by genbench on the protocol's data set on first use, cached",
    build=build_dataset_classifier,
    settings={**dict.fromkeys(REQUIRED), **DEFAULTS, "sha256": None},
)
