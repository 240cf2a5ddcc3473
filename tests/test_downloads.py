"""No network, no traceback: every failed download is the one-line error offline mode gives, and fails fast.

Failures are simulated, never real: DNS failure (``socket.getaddrinfo`` raises), a refused
connection (a closed port on 127.0.0.1) and a silent server (accepts, never answers) for timeouts.
"""

from __future__ import annotations

import re
import socket
import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torchvision
from genbench_models.ddpm import DDPM

import genbench.storage.downloads
from genbench.cli import main
from genbench.datasets.base import DataRequest
from genbench.datasets.cifar10 import load_cifar10
from genbench.datasets.coco import load_coco
from genbench.errors import DataError, WeightsError
from genbench.extractors.inception import resolve_hub_weights
from genbench.extractors.open_clip_models import load_clip
from genbench.storage.weights import WeightsSource


@pytest.fixture
def online(monkeypatch, tmp_path):
    """Downloads allowed (no offline switch), into temporary caches only."""
    monkeypatch.delenv("GENBENCH_OFFLINE")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/file.tar.gz"


@pytest.fixture
def silent_server_url(monkeypatch):
    """A server that accepts connections and never answers; downloads time out after 0.5 s."""
    monkeypatch.setattr(genbench.storage.downloads, "DOWNLOAD_TIMEOUT_SECONDS", 0.5)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield f"http://127.0.0.1:{server.getsockname()[1]}/file.tar.gz"
    server.close()


def no_dns(monkeypatch) -> None:
    def fail(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)


def failing_url(failure: str, monkeypatch, request) -> str | None:
    """The URL to download from for ``failure`` (None: keep the real one, DNS fails for every host)."""
    if failure == "dns":
        no_dns(monkeypatch)
        return None
    return closed_port_url() if failure == "refused" else request.getfixturevalue("silent_server_url")


REASONS = {"dns": r"URLError: <urlopen error \[Errno -2\] Name or service not known>",
           "refused": r"URLError: <urlopen error \[Errno 111\] Connection refused>",
           "timeout": r"(TimeoutError|URLError): .*timed out.*"}
FAILURES = list(REASONS)


def assert_same_line_with_reason(message: str, offline: str, offline_reason: str, failed_reason: str,
                                 pattern: str) -> None:
    """``message`` is ``offline`` with ``offline_reason`` replaced by ``failed_reason`` around a matching reason."""
    head, tail = offline.split(offline_reason)
    head += failed_reason.split("REASON")[0]
    tail = failed_reason.split("REASON")[1] + tail
    assert "\n" not in message and message.startswith(head) and message.endswith(tail), message
    assert re.fullmatch(pattern, message[len(head):len(message) - len(tail)]), message


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_dataset_download_is_the_offline_line(failure, online, monkeypatch, request):
    monkeypatch.setenv("GENBENCH_OFFLINE", "1")
    with pytest.raises(DataError) as offline:
        load_cifar10(DataRequest("train", 32, 3))
    monkeypatch.delenv("GENBENCH_OFFLINE")
    url = failing_url(failure, monkeypatch, request)
    if url:
        monkeypatch.setattr(torchvision.datasets.CIFAR10, "url", url)
    started = time.monotonic()
    with pytest.raises(DataError) as failed:
        load_cifar10(DataRequest("train", 32, 3))
    assert time.monotonic() - started < 15  # no hanging, no long retries
    assert_same_line_with_reason(str(failed.value), str(offline.value), "(downloads are off)",
                                 "(download failed: REASON)", REASONS[failure])


def test_a_failed_coco_download_is_the_offline_line(online, monkeypatch, tmp_path):
    url = closed_port_url()
    monkeypatch.setattr("genbench.datasets.coco.ANNOTATIONS_URL", url)
    monkeypatch.setattr("genbench.datasets.coco.IMAGES_URL", url)
    with pytest.raises(DataError) as error:  # downloads go to the cache (conftest: tmp_path/cache), never a --data-dir
        load_coco(DataRequest("val", 16, 3, options={"year": 2014}))
    root = tmp_path / "cache" / "data" / "coco"
    assert str(error.value) == (
        f"COCO val2014 not found under {root} and the download failed (URLError: <urlopen error "
        f"[Errno 111] Connection refused>): expected annotations/captions_val2014.json (from {url}), val2014/*.jpg "
        f"(from {url}); unzip them there or pass --data-dir")


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_weights_download_is_the_offline_line(failure, online, monkeypatch, request, tmp_path):
    context = SimpleNamespace(weights_dir=None, trust_weights=False)
    url = failing_url(failure, monkeypatch, request) or "https://example.invalid/weights.pth"
    monkeypatch.setenv("GENBENCH_OFFLINE", "1")
    with pytest.raises(WeightsError) as offline:
        resolve_hub_weights(WeightsSource("weights.pth", url, unpickled=True), context)
    assert str(offline.value) == (
        f"weights file 'weights.pth' not found (looked in: {tmp_path / 'torch' / 'hub' / 'checkpoints'}; offline); "
        f"download it from {url} and put it in --weights-dir or $GENBENCH_WEIGHTS")
    monkeypatch.delenv("GENBENCH_OFFLINE")
    started = time.monotonic()
    with pytest.raises(WeightsError) as failed:
        resolve_hub_weights(WeightsSource("weights.pth", url, unpickled=True), context)
    assert time.monotonic() - started < 15
    assert_same_line_with_reason(str(failed.value), str(offline.value), "; offline)", "; download failed (REASON))",
                                 REASONS[failure])


def test_hub_downloads_fail_at_once_when_the_hub_is_unreachable(online, monkeypatch):
    """huggingface_hub retries with back-off (a minute for open_clip's two files); an unreachable host fails first."""
    no_dns(monkeypatch)
    reason = "huggingface.co:443 unreachable (gaierror: [Errno -2] Name or service not known)"
    started = time.monotonic()
    with pytest.raises(WeightsError) as error:
        load_clip("ViT-B-32", "openai")
    assert str(error.value) == (
        f"weights file 'open_clip-ViT-B-32-openai.safetensors' not found (looked in: no weights directory given; "
        f"download failed ({reason})); download it from https://huggingface.co/timm/vit_base_patch32_clip_224.openai/"
        f"resolve/main/open_clip_model.safetensors and put it in --weights-dir or $GENBENCH_WEIGHTS")
    with pytest.raises(WeightsError) as error:
        DDPM.load("google/ddpm-cifar10-32", torch.device("cpu"))
    assert str(error.value) == (
        f"diffusers pipeline 'google/ddpm-cifar10-32' could not be downloaded ({reason}); download it once online "
        f"(genbench run does) or pass a folder saved by save_pretrained as --checkpoint")
    assert time.monotonic() - started < 15


def test_score_without_network_is_one_line_and_no_traceback(online, monkeypatch, tmp_path, capsys):
    no_dns(monkeypatch)
    np.savez(tmp_path / "samples.npz", np.zeros((10, 32, 32, 3), dtype=np.uint8))
    code = main(["score", "--protocol", "cifar10-50k", "--samples", str(tmp_path / "samples.npz"),
                 "--results-dir", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("genbench: error: weights file 'weights-inception-2015-12-05-6726825d.pth' not found "
                          f"(looked in: {tmp_path / 'torch' / 'hub' / 'checkpoints'}; download failed (URLError: "
                          "<urlopen error [Errno -2] Name or service not known>)); download it from https://")
