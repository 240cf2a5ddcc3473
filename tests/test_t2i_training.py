"""Pieces the text-to-image plugins share: the step-function training loop, MA-GP, DFBlock, ldm objectives."""

from __future__ import annotations

import pytest
import torch
from genbench_models.dfblock import DFBlock
from genbench_models.gan import matching_aware_gradient_penalty

from genbench.models.base import TrainingData
from genbench.models.training import fit_steps


def test_fit_steps_runs_the_step_per_batch_in_seeded_order():
    data = TrainingData(torch.zeros(10, 1, 2, 2, dtype=torch.uint8), captions=[str(i) for i in range(10)])
    module = torch.nn.Linear(1, 1)

    def run(seed):
        seen = []

        def step(images, labels, captions):
            seen.append(captions)
            return {"loss_g": float(len(seen)), "loss_d": 0.0}

        return fit_steps({"m": module}, step, data, {"epochs": 2, "batch_size": 4}, seed, torch.device("cpu"),
                         progress=False), seen

    report, seen = run(3)
    assert report.steps == 6 and report.epochs == 2 and report.final_loss == 6.0
    assert sorted(c for batch in seen[:3] for c in batch) == sorted(str(i) for i in range(10))
    assert run(3)[1] == seen and run(4)[1] != seen


def test_ma_gp_matches_the_closed_form():
    w = torch.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    v = torch.tensor([2.0, 0.0, -1.0])
    x = torch.randn(4, 2, 2, requires_grad=True)
    e = torch.randn(4, 3, requires_grad=True)
    scores = (x * w).flatten(1).sum(1) + e @ v
    penalty = matching_aware_gradient_penalty(scores, (x, e), k=2.0, p=6.0)
    norm = torch.cat([w.detach().flatten(), v]).norm()
    assert penalty.item() == pytest.approx(2.0 * norm.item() ** 6, rel=1e-5)
    assert penalty.requires_grad


def test_dfblock_starts_as_leaky_relu_and_follows_the_condition():
    block = DFBlock(cond_dim=3, channels=2)
    x = torch.randn(2, 2, 4, 4)
    cond = torch.randn(2, 3)
    relu = torch.nn.functional.leaky_relu
    assert torch.allclose(block(x, cond), relu(relu(x, 0.2), 0.2))
    torch.nn.init.normal_(block.affine0.gamma[2].weight)
    out = block(x, cond)
    assert not torch.allclose(out[0], block(x, cond.flip(0))[0])
