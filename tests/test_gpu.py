"""GPU checks (``pytest -m gpu``, run by ``make gpu-check``): skipped on machines without CUDA.

A CUDA run gives the CPU run's numbers within float tolerance (the noise is drawn on the CPU, the
networks differ only by rounding); a one-GPU ``torchrun`` joins an NCCL group and gives the
single-process numbers; fp16 sampling runs the plugin's network in half precision; the digests that count
distinct samples are computed on the GPU and equal the CPU's exactly.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from tests_support import SMALL, metric_values

import genbench
from genbench.evaluation.session import build_extractors
from genbench.extractors.base import ExtractorContext
from genbench.extractors.feature_pass import extract_features
from genbench.models.base import ImageFormat, SampleBatch
from genbench.registry import get_registry
from genbench.runner.plugin_calls import draw

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def test_a_cuda_run_gives_the_cpu_numbers_within_tolerance(tmp_path, vae_checkpoint):
    common = dict(plugin="vae", protocol="digits", checkpoint=vae_checkpoint, quiet=True, settings=SMALL)
    on_cpu = genbench.run(results_dir=tmp_path / "cpu", device="cpu", **common)
    on_gpu = genbench.run(results_dir=tmp_path / "gpu", device="cuda", **common)
    assert on_gpu["environment"]["hardware"]["device"].startswith("cuda")
    for key, (value, std) in metric_values(on_cpu).items():
        assert metric_values(on_gpu)[key][0] == pytest.approx(value, rel=1e-3, abs=1e-4), key


def test_cuda_features_equal_cpu_features_within_tolerance(tmp_path):
    protocol = get_registry().protocol("digits")
    features = {}
    images = torch.randint(0, 256, (100, 1, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    for device in ("cpu", "cuda"):
        context = ExtractorContext(torch.device(device), None, False, tmp_path / "cache", None)
        extractors = build_extractors(protocol, get_registry(), context)
        features[device] = extract_features(extractors, images.to(device), None, 50)
    for key, rows in features["cpu"].items():
        torch.testing.assert_close(features["cuda"][key], rows, rtol=1e-4, atol=1e-4)


def test_a_one_gpu_torchrun_joins_nccl_and_gives_the_single_process_numbers(tmp_path, vae_checkpoint):
    single = genbench.run(plugin="vae", protocol="digits", checkpoint=vae_checkpoint, quiet=True, settings=SMALL,
                          device="cuda", results_dir=tmp_path / "single")
    sets = [arg for key, value in SMALL.items() for arg in ("--set", f"{key}={value}")]
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=1",
         "-m", "genbench", "run", "--plugin", "vae", "--protocol", "digits", "--checkpoint", str(vae_checkpoint),
         "--results-dir", str(tmp_path / "torchrun"), "--device", "cuda", "--quiet", *sets],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    (result,) = (tmp_path / "torchrun").glob("*.json")
    assert metric_values(json.loads(result.read_text())) == metric_values(single)


def test_fp16_sampling_runs_the_network_in_half_precision():
    spec = get_registry().model("ddim").item
    torch.manual_seed(0)
    model = spec.model_class.create(ImageFormat(32, 3), dict(spec.default_config)).to(torch.device("cuda")).eval()
    model.configure(steps="5", precision="fp16")
    dtypes = []
    model.networks["unet"].register_forward_hook(lambda module, inputs, output: dtypes.append(output.sample.dtype))
    images = draw(model, "ddim", SampleBatch(list(range(16)), torch.device("cuda")))
    assert set(dtypes) == {torch.float16}
    assert images.dtype == torch.uint8 and images.device.type == "cuda" and images.shape == (16, 3, 32, 32)


def test_digests_on_the_gpu_equal_the_cpu_digests_exactly():
    from genbench.trust.digests import image_digests

    images = torch.randint(0, 256, (300, 3, 256, 256), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    assert torch.equal(image_digests(images.cuda()), image_digests(images))
