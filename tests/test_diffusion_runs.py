"""The diffusion plugins end to end through the runner, a pipeline directory as --checkpoint, and sweeps."""

from __future__ import annotations

import pytest
import torch
from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel
from diffusion_helpers import one_thread, small_digits_protocol  # noqa: F401  (fixture)

from genbench.cli import main
from genbench.storage.results import read_result
from genbench.trust.hashing import sha256_tree

pytestmark = pytest.mark.usefixtures("one_thread")
#: 200 samples: enough for FD on 64-d features and KID subsets of 100.
SMALL = ["--set", "protocol.sampling.num_samples=200", "--set", "protocol.speed.repeats=1", "--quiet"]


def _results(directory):
    return sorted(p for p in directory.glob("*.json"))


@pytest.mark.parametrize("plugin, settings", [("ddpm", []), ("ddim", ["--set", "steps=4"]),
                                              ("ddim-cosine", ["--set", "steps=3"])])
def test_trains_and_runs_through_the_digits_protocol(plugin, settings, tmp_path, capsys):
    protocol = small_digits_protocol(tmp_path)
    code = main(["run", "--plugin", plugin, "--protocol", str(protocol), "--results-dir", str(tmp_path / "r"),
                 *settings, *SMALL])
    assert code == 0, capsys.readouterr().err
    [path] = _results(tmp_path / "r")
    record = read_result(path)
    assert record["plugin"]["name"] == plugin
    assert record["training"]["steps"] == 3
    evaluations = {"ddpm": 10, "ddim": 4, "ddim-cosine": 3}[plugin]
    assert record["speed"]["network_evaluations_per_image"] == evaluations
    assert set(record["speed"]["by_batch_size"]) == {"1", "100"}
    assert record["metrics"]["fd"]["value"] > 0 and 0 <= record["metrics"]["confidence"]["value"] <= 1
    if plugin != "ddpm":
        assert record["plugin"]["settings"]["steps"] == evaluations


def save_tiny_pipeline(path, seed: int) -> None:
    torch.manual_seed(seed)
    unet = UNet2DModel(sample_size=16, in_channels=1, out_channels=1, block_out_channels=(8, 16),
                       down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
                       layers_per_block=1, norm_num_groups=4)
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler(num_train_timesteps=8)).save_pretrained(path)


def test_a_pipeline_directory_is_a_checkpoint_with_a_tree_hash(tmp_path, capsys):
    records = []
    for seed in (0, 1):  # two different pipelines saved at the same path in turn
        save_tiny_pipeline(tmp_path / "pipe", seed)
        code = main(["run", "--plugin", "ddim", "--protocol", "digits", "--checkpoint", str(tmp_path / "pipe"),
                     "--results-dir", str(tmp_path / f"r{seed}"), "--set", "steps=2", "--set", "eta=1.0", *SMALL])
        assert code == 0, capsys.readouterr().err
        [path] = _results(tmp_path / f"r{seed}")
        records.append(read_result(path))
        assert records[-1]["plugin"]["checkpoint_sha256"] == sha256_tree(tmp_path / "pipe")
    record = records[0]
    assert record["plugin"]["checkpoint"] == str(tmp_path / "pipe")
    assert record["plugin"]["config"]["pretrained"] == str(tmp_path / "pipe")
    assert record["plugin"]["settings"] == {"steps": 2, "eta": 1.0, "precision": "fp32"}
    assert record["training"] is None
    assert records[0]["plugin"]["checkpoint_sha256"] != records[1]["plugin"]["checkpoint_sha256"]
    assert records[0]["metrics"]["fd"]["value"] != records[1]["metrics"]["fd"]["value"]


def test_sweep_writes_one_result_per_setting_from_one_training(tmp_path, capsys):
    protocol = small_digits_protocol(tmp_path)
    code = main(["sweep", "--plugin", "ddim", "--protocol", str(protocol), "--results-dir", str(tmp_path / "r"),
                 "--set", "steps=1,2,5", "--set", "eta=0.0", *SMALL])
    out, err = capsys.readouterr()
    assert code == 0, err
    records = [read_result(p) for p in _results(tmp_path / "r")]
    assert sorted(r["plugin"]["settings"]["steps"] for r in records) == [1, 2, 5]
    assert sorted(r["speed"]["network_evaluations_per_image"] for r in records) == [1, 2, 5]
    assert len({r["plugin"]["checkpoint_sha256"] for r in records}) == 1
    assert len(list((tmp_path / "r" / "checkpoints").glob("*.safetensors"))) == 1
    table = out.strip().splitlines()
    assert table[0].split()[:4] == ["steps", "fd", "fd_infinity", "kid"] and len(table) == 4
    assert [line.split()[0] for line in table[1:]] == ["1", "2", "5"]


def test_sweep_needs_a_list_and_refuses_undeclared_settings(tmp_path, capsys):
    protocol = small_digits_protocol(tmp_path)
    assert main(["sweep", "--plugin", "ddim", "--protocol", str(protocol), "--set", "steps=5", *SMALL]) == 2
    assert capsys.readouterr().err.strip() == (
        "genbench: error: a sweep needs at least one --set KEY=V1,V2,... with two or more values")
    assert main(["sweep", "--plugin", "ddpm", "--protocol", str(protocol), "--results-dir", str(tmp_path / "r"),
                 "--set", "steps=5,10", *SMALL]) == 2
    assert capsys.readouterr().err.strip() == (
        "genbench: error: plugin 'ddpm': unknown setting 'steps' (declared settings: precision)")
