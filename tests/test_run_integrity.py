"""A result is what it says (issue 9 items 2, 3, 5): deterministic plugins only, no shards of other code,
degenerate samples flagged."""

from __future__ import annotations

import importlib
import sys

import pytest
from test_runner import interrupt_second_shard
from tests_support import SMALL

import genbench
from genbench.cli import main
from genbench.errors import PluginError
from genbench.leaderboard.site import build_leaderboard
from genbench.registry import reset_registry
from genbench.runner import sampling

PLUGIN = '''
import torch
from genbench import hookimpl
from genbench.models.base import ModelSpec
from genbench_models.vae import BetaVAE


class Tweaked(BetaVAE):
    plugin_name = "vae"

    def sample(self, batch):
        images = super().sample(batch)
        {body}


@hookimpl
def genbench_models():
    return [ModelSpec(name="tweaked", model_class=Tweaked, description="a VAE with a twist")]
'''

GLOBAL_NOISE = "return (images.int() + torch.randint(0, 80, images.shape)).clamp(0, 255).to(torch.uint8)"
BATCH_SIZE_DEPENDENT = "return (images.int() + 40 * (len(batch) % 3)).clamp(0, 255).to(torch.uint8)"
CONSTANT = "return torch.zeros_like(images)"


def install(plugin_installer, body: str, module: str = "tweaked_plugin") -> None:
    plugin_installer.install("tweaked-gen", "tweaked", module, PLUGIN.format(body=body))


@pytest.mark.parametrize("body, problem", [
    (GLOBAL_NOISE, r"image 0 sampled twice in one batch differs \(mean \|difference\| \d+\.\d levels\)"),
    (BATCH_SIZE_DEPENDENT, r"image 1 changes with its batch's composition \(mean \|difference\| \d+\.\d levels\)"),
])
def test_a_nondeterministic_plugin_is_stopped_before_sampling(tmp_path, plugin_installer, vae_checkpoint,
                                                              body, problem):
    install(plugin_installer, body)
    with pytest.raises(PluginError, match=rf"^plugin 'tweaked' is not deterministic: {problem}.*; draw all noise "
                                          r"with batch\.randn\(\.\.\.\) or batch\.generators\(\).*"
                                          r"\(or pass --allow-nondeterministic: .*\)$"):
        genbench.run(plugin="tweaked", protocol="digits", checkpoint=vae_checkpoint, results_dir=tmp_path,
                     quiet=True, settings=SMALL)
    assert not (tmp_path / ".work").exists() and not list(tmp_path.glob("*.json"))


def test_allowed_nondeterminism_is_recorded_and_never_ranked(tmp_path, plugin_installer, vae_checkpoint):
    install(plugin_installer, GLOBAL_NOISE)
    common = dict(protocol="digits", checkpoint=vae_checkpoint, results_dir=tmp_path / "results", quiet=True,
                  settings=SMALL)
    record = genbench.run(plugin="tweaked", allow_nondeterministic=True, **common)
    honest = genbench.run(plugin="vae", **common)
    determinism = record["samples"]["determinism"]
    assert determinism["deterministic"] is False and determinism["problems"]
    assert any("not deterministic" in w for w in record["warnings"])
    assert honest["samples"]["determinism"]["deterministic"] is True and honest["warnings"] == []

    build_leaderboard(tmp_path / "results", tmp_path / "site")
    page = next((tmp_path / "site").glob("protocols/digits*.html")).read_text(encoding="utf-8")
    assert "not deterministic — not ranked" in page
    csv = next((tmp_path / "site").glob("**/digits*.csv")).read_text(encoding="utf-8")
    markdown = next((tmp_path / "site").glob("**/digits*.md")).read_text(encoding="utf-8")
    assert "(not deterministic)" in markdown
    assert csv  # both rows exported
    run_page = (tmp_path / "site" / "runs" / f"{record['run_id']}.html").read_text(encoding="utf-8")
    assert "Warnings" in run_page and "not deterministic" in run_page


def test_a_plugin_returning_one_image_for_every_seed_is_flagged(tmp_path, plugin_installer, vae_checkpoint, capsys):
    install(plugin_installer, CONSTANT)
    record = genbench.run(plugin="tweaked", protocol="digits", checkpoint=vae_checkpoint, results_dir=tmp_path,
                          quiet=True, settings=SMALL)
    assert record["samples"]["distinct"] == 1
    assert record["warnings"] == ["only 1 of 400 samples are distinct images (below 90%): the plugin returns the "
                                  "same image for many seeds"]
    assert main(["show", record["path"]]) == 0
    assert "warning    only 1 of 400 samples are distinct images" in capsys.readouterr().out


def test_a_resumed_run_never_mixes_shards_of_other_code(tmp_path, plugin_installer, vae_checkpoint, monkeypatch,
                                                        capsys):
    """Kill a run after its first shard, edit the plugin (same version), run again: nothing is resumed."""
    install(plugin_installer, "return images", module="edited_plugin")
    original = interrupt_second_shard(monkeypatch)
    common = dict(plugin="tweaked", protocol="digits", checkpoint=vae_checkpoint, results_dir=tmp_path,
                  settings=SMALL)
    with pytest.raises(KeyboardInterrupt):
        genbench.run(quiet=True, **common)
    monkeypatch.setattr(sampling, "run_shard", original)
    assert len(list((tmp_path / ".work").glob("*/shard-000000.safetensors"))) == 1

    source = plugin_installer.root / "edited_plugin.py"
    source.write_text(source.read_text().replace("return images", "return 255 - images"), encoding="utf-8")
    sys.modules.pop("edited_plugin", None)
    importlib.invalidate_caches()
    reset_registry()
    capsys.readouterr()
    record = genbench.run(quiet=False, **common)
    status = capsys.readouterr().err  # status lines go to stderr
    assert "resuming:" not in status
    assert ": changed since: code; starting fresh" in status
    code = record["plugin"]["code"]
    assert code["package"] == "edited_plugin" and len(code["sources_sha256"]) == 64
