"""Plugin discovery through real entry points, name clashes, broken plugins and the switches."""

from __future__ import annotations

import pytest

from genbench.cli import main
from genbench.errors import PluginError, ProtocolError
from genbench.registry import hookspecs, load_registry

THIRD_PARTY = '''
from genbench import hookimpl
from genbench.models.base import ModelSpec
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


CLASH = ("model plugin 'vae' is disabled: it is provided by acme-gen (acme_clash) and by "
         "genbench (genbench_models.vae); uninstall all but one of them")

SHAPES_AGAIN = """
@hookimpl
def genbench_protocols():
    from genbench.protocols.protocol import builtin_protocol_files
    return [next(p for p in builtin_protocol_files() if p.stem == "shapes")]
"""

BAD_HOOKS = """
from genbench import hookimpl
from genbench.errors import ProtocolError


@hookimpl
def genbench_datasets():
    raise ProtocolError("no data today")


@hookimpl
def genbench_metrics():
    return ["fid"]


@hookimpl
def genbench_protocols():
    return ["/nonexistent/protocol.toml"]
"""


def test_a_name_two_plugins_claim_is_disabled_for_both_and_the_rest_keeps_working(plugin_installer, capsys):
    plugin_installer.install("acme-gen", "acme", "acme_clash", THIRD_PARTY.format(name="vae") + SHAPES_AGAIN)
    registry = load_registry()
    assert "vae" not in registry.models and "shapes" not in registry.protocols
    with pytest.raises(PluginError) as error:
        registry.model("vae")
    assert str(error.value) == CLASH
    with pytest.raises(ProtocolError, match=r"^protocol 'shapes' is disabled: it is provided by acme-gen "
                                            r"\(acme_clash\) and by genbench \(genbench.registry.builtins\); "):
        registry.protocol("shapes")
    assert registry.model("ddpm").plugin.distribution == "genbench"  # every other entry still works
    assert "digits" in registry.protocols
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert f"  vae          ERROR: {CLASH}\n" in out
    assert "  ddpm         [unconditional]" in out
    assert main(["run", "--plugin", "vae", "--protocol", "digits"]) == 2
    assert capsys.readouterr().err == f"genbench: error: {CLASH}\n"


def test_broken_plugin_is_reported_and_does_not_break_the_others(plugin_installer):
    plugin_installer.install("broken-gen", "broken", "broken_gen_plugin", "import does_not_exist_anywhere\n")
    registry = load_registry()
    broken = next(p for p in registry.plugins if p.name == "broken")
    assert broken.error == "failed to import: ModuleNotFoundError: No module named 'does_not_exist_anywhere'"
    assert "vae" in registry.models


def test_run_with_a_plugin_that_failed_to_import_says_why(plugin_installer, capsys):
    plugin_installer.install("broken-gen", "broken", "broken_gen_plugin", "import does_not_exist_anywhere\n", "0.2")
    assert main(["run", "--plugin", "broken", "--protocol", "digits"]) == 2
    assert capsys.readouterr().err == (
        "genbench: error: model plugin 'broken' is not available: plugin 'broken' (broken-gen 0.2, module "
        "broken_gen_plugin) is broken: failed to import: ModuleNotFoundError: No module named "
        "'does_not_exist_anywhere'\n")
    with pytest.raises(PluginError, match=r"^unknown model plugin 'vea'; did you mean: vae, cvae\? \(broken plugins: "
                                          r"broken; see genbench list\)$"):
        load_registry().model("vea")


def test_a_hook_that_raises_or_returns_junk_fails_only_its_plugin(plugin_installer, capsys):
    plugin_installer.install("bad-hooks", "badhooks", "bad_hooks_plugin", BAD_HOOKS)
    registry = load_registry()
    info = next(p for p in registry.plugins if p.name == "badhooks")
    assert info.error == ("genbench_datasets failed: ProtocolError: no data today; genbench_metrics returned str "
                          "'fid', not a MetricSpec; genbench_protocols: protocol file /nonexistent/protocol.toml "
                          "does not exist")
    assert {"digits", "shapes"} <= set(registry.datasets) and "fid" in registry.metrics
    assert main(["list"]) == 0
    assert f"  badhooks     bad-hooks 1.0  (bad_hooks_plugin)  ERROR: {info.error}\n" in capsys.readouterr().out


def test_misspelled_hook_is_refused_with_the_hook_it_meant(plugin_installer):
    plugin_installer.install("typo-gen", "typo", "typo_gen_plugin",
                             "from genbench import hookimpl\n\n@hookimpl\ndef genbench_modles():\n    return []\n")
    registry = load_registry()
    typo = next(p for p in registry.plugins if p.name == "typo")
    assert typo.error == "implements unknown hook 'genbench_modles' (did you mean 'genbench_models'?)"
    assert "vae" in registry.models


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
    with pytest.raises(PluginError, match=r"unknown model plugin 'vea'; did you mean: vae, cvae\?"):
        registry.model("vea")
    with pytest.raises(ProtocolError, match=r"unknown protocol 'digit'; did you mean: digits, digits-classes\?"):
        registry.protocol("digit")


def test_every_hook_is_documented_in_hookspecs_and_the_plugin_guide():
    guide = (__import__("pathlib").Path(__file__).parents[1] / "docs" / "plugins.md").read_text(encoding="utf-8")
    hooks = [name for name in dir(hookspecs) if name.startswith("genbench_")]
    assert len(hooks) == 5
    for name in hooks:
        assert getattr(hookspecs, name).__doc__, f"{name} has no docstring"
        assert f"`{name}()`" in guide, f"{name} is not documented in docs/plugins.md"
