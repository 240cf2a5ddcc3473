"""The β-VAE plugin: trains, samples deterministically per seed, round-trips its checkpoint."""

from __future__ import annotations

import torch
from genbench_models.vae import VAE, BetaVAE

from genbench.datasets.base import DataRequest
from genbench.datasets.digits import load_digits_split
from genbench.models.base import ImageFormat, SampleBatch, TrainingData
from genbench.trust.seeds import sample_seed

CPU = torch.device("cpu")


def trained(steps: int = 5) -> BetaVAE:
    data = load_digits_split(DataRequest("train", 16, 1))
    model = BetaVAE.create(ImageFormat(16, 1), VAE.tiny_config)
    report = model.train(TrainingData(data.images[:128], data.labels[:128]), {"epochs": 10, "batch_size": 32, "max_steps": steps},
                         seed=0, device=CPU, progress=False)
    assert report.steps == steps and torch.isfinite(torch.tensor(report.final_loss))
    return model


def seeds(start: int, stop: int) -> SampleBatch:
    return SampleBatch([sample_seed(0, i) for i in range(start, stop)], CPU)


def test_same_seed_same_image_whatever_the_batch(tmp_path):
    model = trained()
    whole = model.sample(seeds(0, 6))
    assert whole.dtype == torch.uint8 and whole.shape == (6, 1, 16, 16)
    parts = torch.cat([model.sample(seeds(0, 2)), model.sample(seeds(2, 6))])
    assert torch.equal(whole, parts)
    assert not torch.equal(whole[0], whole[1])


def test_training_is_deterministic_for_a_seed():
    a, b = trained(), trained()
    assert torch.equal(a.sample(seeds(0, 4)), b.sample(seeds(0, 4)))


def test_checkpoint_round_trip_gives_identical_samples(tmp_path):
    model = trained()
    path = tmp_path / "vae.safetensors"
    model.save(path)
    loaded = BetaVAE.load(path, CPU)
    assert loaded.config == model.config
    assert torch.equal(loaded.sample(seeds(0, 4)), model.sample(seeds(0, 4)))


def test_reconstruction_and_interpolation_capabilities():
    model = trained()
    images = load_digits_split(DataRequest("test", 16, 1)).images[:2]
    assert model.reconstruct(images).shape == (2, 1, 16, 16)
    path = model.interpolate(images[0], images[1], steps=5)
    assert path.shape == (5, 1, 16, 16) and path.dtype == torch.uint8
    assert {"interpolation", "reconstruction"} <= BetaVAE.capabilities


def test_noise_rows_depend_only_on_their_seed():
    batch = SampleBatch([11, 12, 13], CPU)
    alone = SampleBatch([12], CPU).randn(3, 2)
    assert torch.equal(batch.randn(3, 2)[1], alone[0])


def test_progress_bars_stay_out_of_logs_but_obey_quiet():
    from genbench.models.training import bar_disabled

    assert bar_disabled(False) is True
    assert bar_disabled(True) is None  # tqdm then shows bars only on a terminal
