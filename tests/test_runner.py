"""The run end to end on the digits protocol: results, resume, determinism, and errors that lose nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from tests_support import FAST, SMALL, metric_values

import genbench
from genbench.errors import PluginError, ProtocolError, ResultsError, WeightsError
from genbench.runner import Runner, RunOptions, sampling

BAD_PLUGIN = '''
import torch
from genbench import hookimpl
from genbench.models.base import ModelSpec
from genbench_models.vae import BetaVAE


class FloatVAE(BetaVAE):
    """Loads VAE checkpoints but returns float images."""

    def sample(self, batch):
        return super().sample(batch).float()


@hookimpl
def genbench_models():
    return [ModelSpec(name="floaty", model_class=FloatVAE, description="returns float images",
                      default_config={"latent_dim": 2, "beta": 1.0, "width": 4})]
'''


def test_run_trains_evaluates_and_writes_one_result(tmp_path):
    record = genbench.run(plugin="vae", protocol="digits", results_dir=tmp_path, quiet=True, settings=FAST)
    path = Path(record["path"])
    assert path.parent == tmp_path and json.loads(path.read_text())["run_id"] == record["run_id"]
    assert record["protocol"]["fingerprint"] != "2b96db16d170e380"  # the --set overrides change it
    assert set(record["metrics"]) == {"fd", "fd_infinity", "kid", "density", "coverage", "vendi", "is", "confidence"}
    assert record["metrics"]["fd"]["value"] > 0 and record["metrics"]["kid"]["std"] > 0
    interval = record["metrics"]["fd"]["interval"]  # digits asks for 200 bootstrap rounds of FD
    assert interval["rounds"] == 200 and interval["level"] == 0.95 and interval["low"] < interval["high"]
    for key in ("kid", "fd_infinity", "density", "coverage"):  # k-NN metrics take no bootstrap
        assert record["metrics"][key]["interval"] is None
    assert 1.0 < record["metrics"]["vendi"]["value"] < 400
    assert 1.0 <= record["metrics"]["is"]["value"] <= 10.0
    confidence = record["metrics"]["confidence"]
    assert sum(confidence["extras"]["predicted_class_counts"]) == 400
    assert sum(confidence["extras"]["histogram"]["counts"]) == 400
    assert record["training"]["steps"] == 40
    assert record["parameters"]["all"] == record["parameters"]["trainable"] > 0
    assert set(record["speed"]["by_batch_size"]) == {"1", "250"}
    assert Path(record["plugin"]["checkpoint"]).is_file()
    assert (tmp_path / record["artifacts"]["grid"]).is_file()
    assert not (tmp_path / ".work").exists() or not any((tmp_path / ".work").iterdir())
    table = genbench.load_results(tmp_path)
    assert table.loc[0, "run_id"] == record["run_id"] and table.loc[0, "fd"] == record["metrics"]["fd"]["value"]


def test_a_second_run_reuses_the_trained_checkpoint(tmp_path):
    first = genbench.run(plugin="vae", protocol="digits", results_dir=tmp_path, quiet=True, settings=FAST)
    second = genbench.run(plugin="vae", protocol="digits", results_dir=tmp_path, quiet=True, settings=FAST)
    assert second["plugin"]["checkpoint_sha256"] == first["plugin"]["checkpoint_sha256"]
    assert second["training"] == first["training"]
    assert metric_values(second) == metric_values(first)


def test_metrics_do_not_depend_on_the_batch_size(tmp_path, vae_checkpoint):
    common = dict(plugin="vae", protocol="digits", checkpoint=vae_checkpoint, quiet=True, settings=SMALL)
    default = genbench.run(results_dir=tmp_path / "a", **common)
    odd = genbench.run(results_dir=tmp_path / "b", batch_size=7, **common)
    # The noise is bit-identical; the plugin's own float convolutions may round a pixel differently
    # at another batch size (oneDNN picks kernels by shape), hence a tolerance far below any real change.
    for key, (value, std) in metric_values(odd).items():
        assert value == pytest.approx(metric_values(default)[key][0], rel=1e-4), key


def interrupt_second_shard(monkeypatch):
    """Make the run raise KeyboardInterrupt (Ctrl-C) when its second shard starts; returns the real method."""
    original = sampling.run_shard
    calls = []

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(sampling, "run_shard", interrupted)
    return original


def test_an_interrupted_run_resumes_to_the_same_numbers(tmp_path, vae_checkpoint, monkeypatch):
    common = dict(plugin="vae", protocol="digits", checkpoint=vae_checkpoint, quiet=True, settings=SMALL)
    uninterrupted = genbench.run(results_dir=tmp_path / "clean", **common)
    original = interrupt_second_shard(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        genbench.run(results_dir=tmp_path / "resumed", **common)
    assert list((tmp_path / "resumed").glob("*.json")) == []  # no half-written result
    shards = list((tmp_path / "resumed" / ".work").rglob("shard-*.safetensors"))
    assert len(shards) == 1

    resumed_shards = []
    monkeypatch.setattr(sampling, "run_shard",
                        lambda self, *a, **k: resumed_shards.append(1) or original(self, *a, **k))
    resumed = genbench.run(results_dir=tmp_path / "resumed", **common)
    assert len(resumed_shards) == 1  # 400 samples in shards of 250: only the second is redone
    assert metric_values(resumed) == metric_values(uninterrupted)


def test_a_corrupt_shard_is_recomputed_not_trusted(tmp_path, vae_checkpoint, monkeypatch):
    common = dict(plugin="vae", protocol="digits", checkpoint=vae_checkpoint, quiet=True, settings=SMALL)
    clean = genbench.run(results_dir=tmp_path / "clean", **common)
    original = interrupt_second_shard(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        genbench.run(results_dir=tmp_path / "r", **common)
    shard = next((tmp_path / "r" / ".work").rglob("shard-*.safetensors"))
    shard.write_bytes(shard.read_bytes()[:100])
    monkeypatch.setattr(sampling, "run_shard", original)
    assert metric_values(genbench.run(results_dir=tmp_path / "r", **common)) == metric_values(clean)


def test_a_plugin_breaking_the_contract_is_named_and_writes_nothing(tmp_path, plugin_installer, vae_checkpoint):
    plugin_installer.install("floaty-gen", "floaty", "floaty_plugin", BAD_PLUGIN)
    with pytest.raises(PluginError, match=r"plugin 'floaty' sample\(\) returned dtype torch.float32"):
        genbench.run(plugin="floaty", protocol="digits", checkpoint=vae_checkpoint, results_dir=tmp_path,
                     quiet=True, settings=SMALL)
    assert list(tmp_path.glob("*.json")) == []


def test_checkpoint_errors(tmp_path, vae_checkpoint):
    with pytest.raises(WeightsError, match=r"checkpoint .*missing.safetensors does not exist"):
        genbench.run(plugin="vae", protocol="digits", checkpoint=tmp_path / "missing.safetensors",
                     results_dir=tmp_path, quiet=True)
    foreign = tmp_path / "foreign.safetensors"
    foreign.write_bytes(vae_checkpoint.read_bytes())
    from genbench.models.checkpoints import load_checkpoint, save_checkpoint

    checkpoint = load_checkpoint(vae_checkpoint, "vae")
    save_checkpoint(foreign, "ddpm", checkpoint.config, checkpoint.tensors)
    with pytest.raises(WeightsError, match=r"belongs to plugin 'ddpm', not 'vae'"):
        genbench.run(plugin="vae", protocol="digits", checkpoint=foreign, results_dir=tmp_path, quiet=True)
    assert list(tmp_path.glob("*.json")) == []


def test_bad_settings_fail_before_any_work(tmp_path, vae_checkpoint):
    with pytest.raises(PluginError, match=r"^plugin 'vae': unknown setting 'steps' \(declared settings: none\)$"):
        genbench.run(plugin="vae", protocol="digits", checkpoint=vae_checkpoint, results_dir=tmp_path,
                     quiet=True, settings={"steps": "20"})
    with pytest.raises(ProtocolError, match=r"^--set train\.\*: unknown key 'epoch'; did you mean 'epochs'\?$"):
        genbench.run(plugin="vae", protocol="digits", results_dir=tmp_path, quiet=True,
                     settings={"train.epoch": "2"})
    # without a checkpoint the model would be trained first: the setting is refused before that
    with pytest.raises(PluginError, match=r"^plugin 'ddim': setting 'steps' expects int, got 'many'$"):
        genbench.run(plugin="ddim", protocol="digits", results_dir=tmp_path, quiet=True, settings={"steps": "many"})
    assert not (tmp_path / "checkpoints").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_results_dir_is_refused_before_work(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(ResultsError, match="is not writable"):
        genbench.run(plugin="vae", protocol="digits", results_dir=locked, quiet=True)


def test_results_dir_that_is_a_file_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ResultsError, match=r"results directory .*file/sub cannot be created: Not a directory"):
        genbench.run(plugin="vae", protocol="digits", results_dir=blocker / "sub", quiet=True)


def test_unavailable_device_is_an_error(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    from genbench.errors import GenbenchError

    with pytest.raises(GenbenchError, match="CUDA is not available on this machine"):
        Runner(RunOptions(plugin="vae", protocol="digits", device="cuda", results_dir=tmp_path)).run()


def test_weights_dir_reaches_plugins_only_for_the_run(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(Runner, "_run", lambda self: seen.append(os.environ.get("GENBENCH_WEIGHTS")))
    Runner(RunOptions(plugin="vae", protocol="digits", weights_dir=tmp_path / "w", results_dir=tmp_path)).run()
    assert seen == [str(tmp_path / "w")] and "GENBENCH_WEIGHTS" not in os.environ
