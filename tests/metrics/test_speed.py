"""Sampling speed: warm-up batches are not timed, the timed image count is right, CUDA work is waited for."""

from __future__ import annotations

import time

import pytest
import torch

from genbench.metrics import speed


@pytest.fixture
def events(monkeypatch) -> list[str]:
    """Records device calls (mocked: no GPU here) and clock readings (the real clock, observed)."""
    log: list[str] = []
    real_clock = time.perf_counter

    def clock() -> float:
        log.append("clock")
        return real_clock()

    monkeypatch.setattr(speed.time, "perf_counter", clock)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: log.append(f"synchronize {device}"))
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda device=None: log.append("reset peak"))
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: 12345)
    return log


def test_warmup_is_untimed_and_every_timed_section_ends_with_a_synchronisation(events):
    def sample(batch_size: int) -> None:
        events.append(f"sample {batch_size}")

    device = torch.device("cuda", 0)
    result = speed.measure_speed(sample, batch_sizes=(1, 4), warmup=2, repeats=3, device=device,
                                 network_evaluations=10)
    sync = "synchronize cuda:0"
    assert events == ["reset peak",
                      "sample 1", "sample 1", sync, "clock", "sample 1", "sample 1", "sample 1", sync, "clock",
                      "sample 4", "sample 4", sync, "clock", "sample 4", "sample 4", "sample 4", sync, "clock"]
    assert [(b["batch_size"], b["timed_images"]) for b in result["by_batch_size"].values()] == [(1, 3), (4, 12)]
    for figures in result["by_batch_size"].values():
        assert figures["seconds_per_image"] == pytest.approx(figures["seconds"] / figures["timed_images"])
    assert result["peak_device_memory_bytes"] == 12345
    assert (result["warmup_batches"], result["repeats"], result["network_evaluations_per_image"]) == (2, 3, 10)


def test_on_the_cpu_nothing_is_synchronised_and_no_device_memory_is_reported(events):
    result = speed.measure_speed(lambda b: events.append(f"sample {b}"), batch_sizes=(2,), warmup=1, repeats=2,
                                 device=torch.device("cpu"), network_evaluations=1)
    assert events == ["sample 2", "clock", "sample 2", "sample 2", "clock"]
    assert result["by_batch_size"]["2"]["timed_images"] == 4 and result["peak_device_memory_bytes"] is None
