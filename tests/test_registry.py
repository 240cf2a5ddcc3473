"""Plugin discovery through real entry points, name clashes, broken plugins and the switches."""

from __future__ import annotations

import pytest

from genbench import hookspecs
from genbench.errors import PluginError, ProtocolError
from genbench.registry import load_registry

THIRD_PARTY = '''
from genbench import hookimpl
from genbench.model import ModelSpec
from genbench_models.vae import BetaVAE


class TinyVAE(BetaVAE):
    plugin_name = "{name}"


@hookimpl
def genbench_models():
    return [ModelSpec(name="{name}", model_class=TinyVAE, description="a third-party VAE",
                      default_config={{"latent_dim": 2, "beta": 1.0, "width": 4}})]
'''


def test_builtins_are_discovered_through_entry_points():
    registry = load_registry()
    vae = registry.model("vae")
    assert vae.plugin.distribution == "genbench"
    assert vae.plugin.module == "genbench_models.vae"
    assert "digits" in registry.protocols
    assert {"fid", "kid", "isc", "classifier_confidence"} <= set(registry.metrics)


def test_third_party_plugin_is_discovered_with_its_distribution(plugin_installer):
    plugin_installer.install("acme-gen", "acme", "acme_gen_plugin", THIRD_PARTY.format(name="acme-vae"), "2.3.1")
    registry = load_registry()
    provided = registry.model("acme-vae")
    assert (provided.plugin.distribution, provided.plugin.version) == ("acme-gen", "2.3.1")
    assert provided.item.description == "a third-party VAE"


def test_two_plugins_claiming_one_name_name_both_distributions(plugin_installer):
    plugin_installer.install("acme-gen", "acme", "acme_clash", THIRD_PARTY.format(name="vae"))
    with pytest.raises(PluginError) as error:
        load_registry()
    message = str(error.value)
    assert "model plugin 'vae' is provided twice" in message
    assert "genbench (genbench_models.vae)" in message and "acme-gen (acme_clash)" in message


def test_broken_plugin_is_reported_and_does_not_break_the_others(plugin_installer):
    plugin_installer.install("broken-gen", "broken", "broken_gen_plugin", "import does_not_exist_anywhere\n")
    registry = load_registry()
    broken = next(p for p in registry.plugins if p.name == "broken")
    assert broken.error == "ModuleNotFoundError: No module named 'does_not_exist_anywhere'"
    assert "vae" in registry.models


def test_misspelled_hook_fails_loudly(plugin_installer):
    plugin_installer.install("typo-gen", "typo", "typo_gen_plugin",
                             "from genbench import hookimpl\n\n@hookimpl\ndef genbench_modles():\n    return []\n")
    with pytest.raises(PluginError, match="unknown hook"):
        load_registry()


def test_load_only_switch_limits_entry_points(plugin_installer, monkeypatch):
    plugin_installer.install("acme-gen", "acme", "acme_only", THIRD_PARTY.format(name="acme-vae"))
    monkeypatch.setenv("GENBENCH_LOAD_PLUGINS", "acme")
    registry = load_registry()
    assert set(registry.models) == {"acme-vae"}
    monkeypatch.setenv("GENBENCH_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert load_registry().models == {}


def test_trace_switch_prints_hook_calls(monkeypatch, capsys):
    monkeypatch.setenv("GENBENCH_TRACE_PLUGINS", "1")
    load_registry()
    assert "genbench trace: genbench_models" in capsys.readouterr().err


def test_unknown_names_suggest_close_matches():
    registry = load_registry()
    with pytest.raises(PluginError, match=r"unknown model plugin 'vea'; did you mean: vae\?"):
        registry.model("vea")
    with pytest.raises(ProtocolError, match=r"unknown protocol 'digit'; did you mean: digits\?"):
        registry.protocol("digit")


def test_every_hook_is_documented_in_hookspecs_and_the_plugin_guide():
    guide = (__import__("pathlib").Path(__file__).parents[1] / "docs" / "plugins.md").read_text(encoding="utf-8")
    hooks = [name for name in dir(hookspecs) if name.startswith("genbench_")]
    assert len(hooks) == 5
    for name in hooks:
        assert getattr(hookspecs, name).__doc__, f"{name} has no docstring"
        assert f"`{name}()`" in guide, f"{name} is not documented in docs/plugins.md"
