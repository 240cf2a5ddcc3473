"""What a new plugin author relies on without reading the source: a default training recipe on the
ModelSpec, and settings that are read where the result says they were."""

from __future__ import annotations

import tomllib

import pytest
from genbench_models.vae import BetaVAE
from tests_support import SMALL

import genbench
from genbench.errors import PluginError, ProtocolError
from genbench.models.base import ModelSpec, SettingValues
from genbench.protocols.protocol import builtin_protocol_files, parse_protocol
from genbench.runner.acquire import choose_recipe

PROTOCOLS = {p.stem: p for p in builtin_protocol_files()}

#: A third-party VAE that only brings its own recipe: no protocol knows it.
ACME = '''
from genbench import hookimpl
from genbench.models.base import ModelSpec
from genbench_models.vae import BetaVAE


class AcmeVAE(BetaVAE):
    plugin_name = "acme-vae"


@hookimpl
def genbench_models():
    return [ModelSpec(name="acme-vae", model_class=AcmeVAE, description="a third-party VAE",
                      default_config={"latent_dim": 4, "beta": 1.0, "width": 8},
                      default_recipe={"epochs": 1, "batch_size": 32, "lr": 0.002, "max_steps": 5,
                                      "config": {"width": 4}})]
'''

#: The reported trap: ``temperature`` is declared (and recorded) but read from the config.
TEMPERATURE = '''
import torch
from genbench import hookimpl
from genbench.models.base import ModelSpec
from genbench.models.kit import to_uint8
from genbench_models.vae import BetaVAE


class WarmVAE(BetaVAE):
    plugin_name = "warm-vae"
    settings = {"temperature": 1.0}

    @torch.no_grad()
    def sample(self, batch):
        z = batch.randn(self.config["latent_dim"]) * TEMPERATURE_SOURCE
        return to_uint8(torch.sigmoid(self.networks["decoder"](z)))


@hookimpl
def genbench_models():
    return [ModelSpec(name="warm-vae", model_class=WarmVAE, description="a VAE with a temperature",
                      default_config={"latent_dim": 4, "beta": 1.0, "width": 4, "temperature": 1.0},
                      default_recipe={"epochs": 1, "max_steps": 3})]
'''


def test_a_new_plugin_trains_on_digits_with_its_own_default_recipe(plugin_installer, tmp_path):
    plugin_installer.install("acme-gen", "acme", "acme_recipe_plugin", ACME)
    record = genbench.run(plugin="acme-vae", protocol="digits", results_dir=tmp_path, quiet=True, settings=SMALL)
    training = record["training"]
    assert training["recipe_source"] == "plugin acme-vae default_recipe"
    assert training["recipe"] == {"epochs": 1, "batch_size": 32, "lr": 0.002, "max_steps": 5}
    assert training["steps"] == 5
    assert record["plugin"]["config"]["width"] == 4  # the recipe's config over the spec's default_config

    # the protocol's own recipe for the model wins over the plugin's
    text = PROTOCOLS["digits"].read_text(encoding="utf-8")
    own = tmp_path / "digits-acme.toml"
    own.write_text(text + '\n[training.acme-vae]\nepochs = 1\nbatch_size = 64\nmax_steps = 3\n', encoding="utf-8")
    record = genbench.run(plugin="acme-vae", protocol=str(own), results_dir=tmp_path, quiet=True,
                          settings={**SMALL, "train.lr": "0.001"})
    training = record["training"]
    assert training["recipe_source"] == "protocol digits [training.acme-vae] + --set train.lr"
    assert training["recipe"] == {"epochs": 1, "batch_size": 64, "max_steps": 3, "lr": 0.001}
    assert training["steps"] == 3 and record["plugin"]["config"]["width"] == 8


def test_recipe_precedence_protocol_then_plugin_then_protocol_default():
    shapes = tomllib.loads(PROTOCOLS["shapes"].read_text(encoding="utf-8"))
    protocol = parse_protocol(shapes)
    own = {"epochs": 2, "lr": 0.01}
    chosen = protocol.training_recipe("ldm", own)
    assert chosen.source == "protocol shapes [training.ldm] over [training.default]"
    assert chosen.values["epochs"] == 12 and chosen.values["lr"] == 0.001
    assert protocol.training_recipe("acme", own).values == own
    assert protocol.training_recipe("acme", own).source == "plugin acme default_recipe"
    fallback = protocol.training_recipe("acme")
    assert (fallback.values, fallback.source) == ({"epochs": 20, "batch_size": 64, "lr": 0.0002},
                                                  "protocol shapes [training.default]")
    digits = parse_protocol(tomllib.loads(PROTOCOLS["digits"].read_text(encoding="utf-8")))
    assert digits.training_recipe("acme") is None


def test_recipes_are_checked_before_any_work():
    digits = parse_protocol(tomllib.loads(PROTOCOLS["digits"].read_text(encoding="utf-8")))
    spec = ModelSpec(name="acme", model_class=BetaVAE, description="", default_recipe={"epoch": 3})
    with pytest.raises(ProtocolError, match=r"^plugin 'acme' default_recipe: unknown key 'epoch'; did you mean "
                                            r"'epochs'\?$"):
        choose_recipe(digits, spec, {})
    spec = ModelSpec(name="acme", model_class=BetaVAE, description="")
    with pytest.raises(ProtocolError, match=r"^--set train\.\*: 'batch_size' must be a positive integer, got 0$"):
        choose_recipe(digits, spec, {"batch_size": 0})
    with pytest.raises(PluginError, match=r"protocol 'digits' has no training recipe for plugin 'acme' and the "
                                          r"plugin has no default_recipe: pass --checkpoint PATH$"):
        choose_recipe(digits, spec, {})


def test_setting_values_note_what_the_model_reads():
    values = SettingValues({"steps": 10, "eta": 0.0, "guidance": 1.0})
    assert values.recorded() == {"steps": 10, "eta": 0.0, "guidance": 1.0} and values.read == set()
    values["steps"]
    assert values.read == {"steps"}
    values.get("eta")
    assert values.read == {"steps", "eta"}
    values.read.clear()
    dict(**values)
    assert values.read == {"steps", "eta", "guidance"}


@pytest.mark.parametrize("source, error", [
    ("self.config['temperature']", "plugin 'warm-vae' declares setting 'temperature' but never read it from "
                                   "self.setting_values after configure(), so the recorded temperature=0.5 may not "
                                   "be what it used; read settings from self.setting_values (see "
                                   "genbench.models.base.GenerativeModel)"),
    ("self.setting_values['temperature']", None),
])
def test_a_setting_the_model_never_reads_is_refused_not_recorded(plugin_installer, tmp_path, source, error):
    plugin_installer.install("warm-gen", "warm", f"warm_plugin_{'ok' if error is None else 'trap'}",
                             TEMPERATURE.replace("TEMPERATURE_SOURCE", source))
    settings = {**SMALL, "temperature": "0.5"}
    if error is None:
        record = genbench.run(plugin="warm-vae", protocol="digits", results_dir=tmp_path, quiet=True,
                              settings=settings)
        assert record["plugin"]["settings"] == {"temperature": 0.5}
        return
    with pytest.raises(PluginError) as raised:
        genbench.run(plugin="warm-vae", protocol="digits", results_dir=tmp_path, quiet=True, settings=settings)
    assert str(raised.value) == error
    assert list(tmp_path.glob("*.json")) == []
