"""The run seed reaches every image (issue 9 item 0): torch's CPU generator keeps 32 bits of a seed."""

from __future__ import annotations

import pytest
import torch
from tests_support import SMALL, metric_values

import genbench
from genbench.cli import main
from genbench.errors import GenbenchError
from genbench.models.base import SampleBatch
from genbench.trust.seeds import GENERATOR_SEEDS, check_run_seed, sample_seed, training_seed

RUN_SEEDS = (0, 1, 12345, 2 ** 32, 2 ** 40 + 7, 2 ** 63 - 1)


def noise(run_seed: int, count: int = 8) -> torch.Tensor:
    return SampleBatch([sample_seed(run_seed, i) for i in range(count)], torch.device("cpu")).randn(4)


def test_torch_keeps_only_32_bits_of_a_seed_so_the_derived_seeds_fit_in_them():
    same = [torch.randn(3, generator=torch.Generator().manual_seed(s)) for s in (5, 2 ** 32 + 5)]
    assert torch.equal(*same)  # the fact the old rule (seed * 2**32 + i) fell into
    assert all(0 <= sample_seed(s, i) < GENERATOR_SEEDS for s in RUN_SEEDS for i in (0, 1, 10 ** 6))


def test_every_run_seed_gives_other_noise_and_equal_seeds_equal_noise():
    draws = {seed: noise(seed) for seed in RUN_SEEDS}
    for a in RUN_SEEDS:
        assert torch.equal(noise(a), draws[a])
        for b in RUN_SEEDS:
            if a != b:
                assert not torch.equal(draws[a], draws[b]), (a, b)
    # image i depends on (seed, i) only: the same whatever else is in the batch
    assert torch.equal(SampleBatch([sample_seed(7, 3)], torch.device("cpu")).randn(4)[0], noise(7)[3])
    # the images of one run never share a generator seed
    assert len({sample_seed(3, i) for i in range(50_000)}) == 50_000
    assert training_seed(0) != training_seed(2 ** 32) and training_seed(0) != sample_seed(0, 0)


@pytest.mark.parametrize("seed", [-1, 2 ** 63, 2 ** 70, 1.5, True, "3"])
def test_seeds_outside_the_supported_range_are_refused(seed):
    with pytest.raises(GenbenchError, match=r"^seed must be an integer from 0 to 2\*\*63 - 1, got "):
        check_run_seed(seed)


def test_cli_refuses_a_negative_seed_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--plugin", "vae", "--protocol", "digits", "--seed", "-1", "--results-dir", str(tmp_path),
              "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert exit_.value.code == 2
    assert err == "genbench run: error: argument --seed: expected a whole number from 0 to 2**63 - 1, got -1"
    assert not (tmp_path / "checkpoints").exists()


def test_the_run_seed_changes_samples_and_metrics(tmp_path, vae_checkpoint):
    common = dict(plugin="vae", protocol="digits", checkpoint=vae_checkpoint, quiet=True, settings=SMALL)
    runs = {seed: genbench.run(seed=seed, results_dir=tmp_path / str(seed), **common) for seed in (0, 1, 2 ** 32)}
    again = genbench.run(seed=1, results_dir=tmp_path / "again", **common)
    assert metric_values(again) == metric_values(runs[1])
    assert metric_values(runs[0]) != metric_values(runs[1])
    assert metric_values(runs[0]) != metric_values(runs[2 ** 32])
    grids = {seed: (tmp_path / str(seed) / r["artifacts"]["grid"]).read_bytes() for seed, r in runs.items()}
    assert grids[0] != grids[1] and grids[0] != grids[2 ** 32]
    assert {r["samples"]["seed"] for r in runs.values()} == {0, 1, 2 ** 32}
