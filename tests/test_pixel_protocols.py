"""The fmnist, cifar10-50k and flowers64-kid protocols parse, and the digits fingerprint is unchanged."""

from __future__ import annotations

import pytest

from genbench.registry import get_registry

DIGITS_CLASSIFIER = "57f081135ba8d8752b5977b3a1c3b43229a2484a7457acf9104ff12b275c6096"


def test_diffusion_recipes_leave_the_digits_fingerprint_alone():
    digits = get_registry().protocol("digits")
    assert digits.fingerprint({"classifier": DIGITS_CLASSIFIER}, digits.data.reference_sha256) == "97238dae218c5d29"
    for plugin in ("vae", "ddpm", "ddim", "ddim-cosine"):
        assert digits.recipe_for(plugin) is not None
    assert digits.recipe_for("ddpm")["config"]["num_train_timesteps"] == 100


@pytest.mark.parametrize("name, dataset, size, channels, metrics", [
    ("fmnist", "fmnist", 28, 1, {"confidence", "fd_classifier", "kid_classifier", "fid", "kid"}),
    ("cifar10-50k", "cifar10", 32, 3, {"fid", "is", "kid"}),
    ("flowers64-kid", "flowers102", 64, 3, {"kid", "fid"}),
])
def test_pixel_protocols_parse_with_their_data_and_metrics(name, dataset, size, channels, metrics):
    registry = get_registry()
    protocol = registry.protocol(name)
    assert (protocol.data.dataset, protocol.data.image_size, protocol.data.channels) == (dataset, size, channels)
    assert dataset in registry.datasets
    assert {entry.key for entry in protocol.metrics} == metrics
    assert protocol.recipe_for("ddim") is not None


def test_protocol_details_follow_the_sources():
    registry = get_registry()
    cifar = registry.protocol("cifar10-50k")
    assert (cifar.sampling.num_samples, cifar.data.reference_split) == (50000, "train")
    flowers = registry.protocol("flowers64-kid")
    assert flowers.extractors["inception75"] == {"kind": "inception", "resize": 75}
    assert next(m for m in flowers.metrics if m.key == "kid").extractor == "inception75"
    assert flowers.recipe_for("ddim-cosine")["ema"] == 0.999
    fmnist = registry.protocol("fmnist")
    assert fmnist.extractors["classifier"]["kind"] == "dataset-classifier"
    assert 150 in fmnist.speed.batch_sizes
