"""The Fashion-MNIST judge: trained by genbench on first use, cached with its hash and test accuracy."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from diffusion_helpers import one_thread  # noqa: F401  (fixture)
from test_pixel_datasets import write_fashion_mnist

from genbench.datasets.base import DataRequest
from genbench.datasets.fashion_mnist import load_fashion_mnist
from genbench.errors import WeightsError
from genbench.extractors.base import ExtractorContext
from genbench.extractors.classifier import classifier_accuracy, load_classifier
from genbench.extractors.dataset_classifier import build_dataset_classifier
from genbench.registry import get_registry
from genbench.trust.hashing import sha256_file
from genbench.trust.reference_identity import reference_identity

pytestmark = pytest.mark.usefixtures("one_thread")
SETTINGS = {"dataset": "fmnist", "image_size": 28, "channels": 1, "epochs": 2, "batch_size": 4}


@pytest.fixture
def context(tmp_path):
    write_fashion_mnist(tmp_path / "data", train=12, test=8)
    registry = get_registry()
    return ExtractorContext(torch.device("cpu"), None, False, tmp_path / "cache", tmp_path / "data",
                            lambda name, request: registry.dataset(name).load(request))


def test_trained_on_first_use_then_read_from_the_cache(context):
    extractor = build_dataset_classifier(SETTINGS, context)
    [weights] = (context.cache_dir / "classifiers").glob("fmnist-*.safetensors")
    record = json.loads(weights.with_name(weights.name + ".json").read_text())
    assert record["sha256"] == sha256_file(weights) == extractor.weights_sha256
    test = load_fashion_mnist(DataRequest("test", 28, 1, context.data_dir))
    assert record["test_accuracy"] == classifier_accuracy(load_classifier(weights), test.images, test.labels)
    assert (record["train_images"], record["test_images"]) == (12, 8)
    described = extractor.describe()
    assert described["test_accuracy"] == record["test_accuracy"]
    assert described["trained_on"] == {
        "dataset": "fmnist", "train_split": "train", "test_split": "test", "epochs": 2, "seed": 0,
        "train_data_sha256": reference_identity(load_fashion_mnist(DataRequest("train", 28, 1, context.data_dir)))["sha256"],
        "test_data_sha256": reference_identity(test)["sha256"]}
    features = extractor.extract(test.images)
    assert features["penultimate"].dtype == torch.float64 and features["logits"].shape == (8, 10)

    modified = weights.stat().st_mtime_ns
    again = build_dataset_classifier(SETTINGS, context)
    assert weights.stat().st_mtime_ns == modified and again.weights_sha256 == extractor.weights_sha256


def test_a_corrupt_cache_is_retrained_and_a_pinned_hash_is_enforced(context):
    first = build_dataset_classifier(SETTINGS, context)
    [weights] = (context.cache_dir / "classifiers").glob("fmnist-*.safetensors")
    weights.write_bytes(b"truncated")
    rebuilt = build_dataset_classifier(SETTINGS, context)
    assert rebuilt.weights_sha256 == first.weights_sha256 == sha256_file(weights)  # seeded training
    with pytest.raises(WeightsError, match=r"^reference classifier .* has SHA-256 [0-9a-f]{16}\.\.\., the protocol "
                                           r"expects 0000000000000000\.\.\.$"):
        build_dataset_classifier({**SETTINGS, "sha256": "0" * 64}, context)


def test_a_classifier_trained_on_one_copy_of_the_data_is_not_reused_for_another(context, tmp_path):
    first = build_dataset_classifier(SETTINGS, context)
    write_fashion_mnist(tmp_path / "copy", train=14, test=8)  # the same settings, another copy of the data set
    other = dataclasses.replace(context, data_dir=tmp_path / "copy")
    second = build_dataset_classifier(SETTINGS, other)
    assert len(list((context.cache_dir / "classifiers").glob("fmnist-*.safetensors"))) == 2
    assert second.record["train_images"] == 14 and second.weights_sha256 != first.weights_sha256
    assert build_dataset_classifier(SETTINGS, context).weights_sha256 == first.weights_sha256  # each copy its own


def test_settings_it_cannot_do_without_are_named(context):
    with pytest.raises(WeightsError, match=r"^dataset-classifier extractor needs 'image_size', 'channels' in the protocol$"):
        build_dataset_classifier({"dataset": "fmnist"}, context)
