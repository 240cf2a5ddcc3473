"""Noise drawn in parallel is exactly the sequential per-image noise: image i's rows depend only on its seed."""

from __future__ import annotations

import pytest
import torch

from genbench.models.base import SampleBatch
from genbench.models.noise import per_image_normal


def sequential(seeds, shape, steps=1):
    generators = [torch.Generator().manual_seed(s) for s in seeds]
    return [torch.stack([torch.randn(shape, generator=g) for g in generators]) for _ in range(steps)]


@pytest.mark.parametrize("workers", [1, 4])
@pytest.mark.parametrize("shape", [(4, 8, 8), (10,), ()])
def test_parallel_rows_equal_the_sequential_draws_step_after_step(workers, shape):
    seeds = [3, 1 << 40, 7, 7, 123456789]
    generators = [torch.Generator().manual_seed(s) for s in seeds]
    drawn = [per_image_normal(generators, shape, torch.device("cpu"), workers) for _ in range(3)]
    for ours, theirs in zip(drawn, sequential(seeds, shape, steps=3)):
        assert torch.equal(ours, theirs)


def test_an_image_gets_the_same_noise_in_any_batch():
    alone = SampleBatch([42], torch.device("cpu")).randn(4, 16, 16)
    in_a_batch = SampleBatch([5, 42, 9], torch.device("cpu")).randn(4, 16, 16)
    assert torch.equal(in_a_batch[1], alone[0])
    assert torch.equal(in_a_batch, sequential([5, 42, 9], (4, 16, 16))[0])


def test_the_shape_may_be_given_as_one_tuple_like_torch_randn():
    batch = SampleBatch([5, 42], torch.device("cpu"))
    expected = batch.randn(4, 8, 8)
    assert torch.equal(batch.randn((4, 8, 8)), expected)
    assert torch.equal(batch.randn(torch.Size([4, 8, 8])), expected)
