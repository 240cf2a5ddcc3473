"""A text-to-image plugin through the whole runner: train from a protocol recipe, sample from captions,
measure, write a result — on digits captioned by a throwaway plugin, with the tiny random CLIP."""

from __future__ import annotations

import json

from tiny_t2i import TINY_CLIP, make_tiny_clip

import genbench

CAPTIONED_DIGITS = '''
from genbench import hookimpl
from genbench.datasets.base import DatasetSpec, ImageDataset
from genbench.datasets.digits import load_digits_split

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def load(request):
    digits = load_digits_split(request)
    return ImageDataset(digits.images, captions=["a handwritten " + WORDS[i] for i in digits.labels.tolist()])


@hookimpl
def genbench_datasets():
    return [DatasetSpec(name="captioned-digits", description="digits with captions", load=load)]


@hookimpl
def genbench_protocols():
    return [PROTOCOL]
'''

PROTOCOL = '''
name = "captioned-digits"
version = 1
task = "text-to-image"
description = "digits generated from captions, classifier features"

[data]
dataset = "captioned-digits"
image_size = 16
channels = 1
reference_split = "test"
train_split = "train"

[sampling]
num_samples = 120
seed = 0
shard_size = 60
batch_size = 30
feature_batch_size = 60
conditions = "captions"

[speed]
batch_sizes = [1, 4]
warmup = 1
repeats = 1

[extractors.classifier]
kind = "classifier"
weights = "digits_classifier.safetensors"
sha256 = "57f081135ba8d8752b5977b3a1c3b43229a2484a7457acf9104ff12b275c6096"

[metrics.fd]
metric = "fid"
extractor = "classifier"
feature = "penultimate"

[metrics.confidence]
metric = "classifier_confidence"
extractor = "classifier"
feature = "logits"
threshold = 0.8

[training.dfgan]
epochs = 1
batch_size = 32
max_steps = 3
config = {{ noise_dim = 8, width_g = 4, width_d = 4, clip_model = "{clip}", clip_pretrained = "{weights}" }}
'''


def test_dfgan_runs_a_captioned_protocol_end_to_end(tmp_path, plugin_installer):
    weights = make_tiny_clip(tmp_path / "weights")
    protocol = tmp_path / "captioned-digits.toml"
    protocol.write_text(PROTOCOL.format(clip=TINY_CLIP, weights=weights), encoding="utf-8")
    plugin_installer.install("captioned-digits", "captioned_digits", "captioned_digits_plugin",
                             f"PROTOCOL = {str(protocol)!r}\n" + CAPTIONED_DIGITS)
    record = genbench.run(plugin="dfgan", protocol="captioned-digits", results_dir=tmp_path / "results", quiet=True)
    assert record["training"]["steps"] == 3
    assert record["plugin"]["config"]["clip_model"] == TINY_CLIP
    assert record["parameters"]["all"] > record["parameters"]["trainable"] > 0
    assert record["metrics"]["fd"]["value"] > 0
    written = json.loads(next((tmp_path / "results").glob("captioned-digits__dfgan__*.json")).read_text())
    assert written["metrics"]["fd"]["value"] == record["metrics"]["fd"]["value"]
