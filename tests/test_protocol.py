"""Protocol files: safe parsing, errors naming the file and field, fingerprints, overrides."""

from __future__ import annotations

import copy
import tomllib

import pytest

from genbench.errors import ProtocolError
from genbench.protocols.overrides import override_protocol
from genbench.protocols.protocol import builtin_protocol_files, load_protocol_file, parse_protocol
from genbench.registry import load_registry

DIGITS_FILE = next(p for p in builtin_protocol_files() if p.stem == "digits")
#: The pinned fingerprint of the shipped digits protocol with its shipped classifier weights.
DIGITS_FINGERPRINT = "97238dae218c5d29"


@pytest.fixture
def raw() -> dict:
    return tomllib.loads(DIGITS_FILE.read_text(encoding="utf-8"))


def classifier_weights(protocol) -> dict[str, str]:
    return {"classifier": protocol.extractors["classifier"]["sha256"]}


def test_digits_protocol_parses_with_its_pinned_fingerprint():
    protocol = load_protocol_file(DIGITS_FILE)
    assert (protocol.name, protocol.version, protocol.task.value) == ("digits", 2, "unconditional")
    assert (protocol.data.image_size, protocol.data.channels) == (16, 1)
    assert [m.key for m in protocol.metrics] == ["fd", "fd_infinity", "kid", "density", "coverage", "vendi", "is",
                                                 "confidence"]
    assert protocol.fingerprint(classifier_weights(protocol), protocol.data.reference_sha256) == DIGITS_FINGERPRINT


def test_fingerprint_ignores_description_training_and_prompts_but_not_definitions(raw):
    base = parse_protocol(raw)
    weights = classifier_weights(base)
    cosmetic = copy.deepcopy(raw)
    cosmetic["description"] = "another description"
    cosmetic["training"]["vae"]["epochs"] = 1
    reference = base.data.reference_sha256
    assert parse_protocol(cosmetic).fingerprint(weights, reference) == base.fingerprint(weights, reference)
    changed = copy.deepcopy(raw)
    changed["sampling"]["num_samples"] = 999
    assert parse_protocol(changed).fingerprint(weights, reference) != base.fingerprint(weights, reference)
    assert base.fingerprint({"classifier": "0" * 64}, reference) != base.fingerprint(weights, reference)
    assert base.fingerprint(weights, "0" * 64) != base.fingerprint(weights, reference)


@pytest.mark.parametrize("edit, message", [
    (lambda r: r.pop("name"), "field 'name' is missing"),
    (lambda r: r.update(task="video"), "field 'task' must be one of"),
    (lambda r: r["data"].update(image_size="16"), "field 'data.image_size' must be int, got '16'"),
    (lambda r: r["data"].update(channels=2), "field 'data.channels' must be 1 or 3, got 2"),
    (lambda r: r["sampling"].update(num_samples=0), "field 'sampling.num_samples' must be positive, got 0"),
    (lambda r: r["sampling"].update(shard_size=260), "field 'sampling.shard_size' must be a multiple of "
                                                     "feature_batch_size (50), got 260"),
    (lambda r: r["sampling"].update(conditions="captions"), "field 'sampling.conditions' must be 'none' for "
                                                            "task 'unconditional'"),
    (lambda r: r["metrics"]["fd"].update(extractor="inception"), "field 'metrics.fd.extractor' names no "
                                                                 "extractor of this protocol (have: classifier)"),
    (lambda r: r["speed"].update(batch_sizes=[0]), "field 'speed.batch_sizes' must be a list of positive integers"),
    (lambda r: r.update(metrics={}), "field 'metrics' must name at least one metric"),
    (lambda r: r.update(prompts=[1]), "field 'prompts' must be a list of strings"),
])
def test_malformed_protocols_name_the_file_and_field(raw, edit, message):
    edit(raw)
    with pytest.raises(ProtocolError) as error:
        parse_protocol(raw, source="mine.toml")
    assert str(error.value).startswith("protocol mine.toml: ")
    assert message in str(error.value)


def test_invalid_toml_and_missing_file_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\n[data\n", encoding="utf-8")
    with pytest.raises(ProtocolError, match=r"^protocol .*bad.toml: not valid TOML: "):
        load_protocol_file(bad)
    with pytest.raises(ProtocolError, match=r"protocol file .*absent.toml does not exist"):
        load_protocol_file(tmp_path / "absent.toml")


def test_a_protocol_file_path_works_in_place_of_a_name(tmp_path):
    own = tmp_path / "mine.toml"
    own.write_text(DIGITS_FILE.read_text(encoding="utf-8").replace('name = "digits"', 'name = "mine"'),
                   encoding="utf-8")
    protocol = load_registry().protocol(str(own))
    assert protocol.name == "mine" and protocol.source == str(own)


def test_overrides_change_the_fingerprint_and_reject_unknown_fields(raw):
    base = parse_protocol(raw, source="digits.toml")
    smaller = override_protocol(base, {"sampling.num_samples": "200"})
    assert smaller.sampling.num_samples == 200
    assert smaller.fingerprint(classifier_weights(base), "r") != base.fingerprint(classifier_weights(base), "r")
    with pytest.raises(ProtocolError, match=r"--set protocol.sampling.num_sample: protocol 'digits' has no "
                                            r"field 'num_sample'"):
        override_protocol(base, {"sampling.num_sample": "200"})
    with pytest.raises(ProtocolError, match=r"has no table 'sampler'"):
        override_protocol(base, {"sampler.num_samples": "200"})


def test_recipe_merges_default_under_plugin_specific(raw):
    raw["training"]["default"] = {"epochs": 3, "lr": 0.1}
    protocol = parse_protocol(raw)
    assert protocol.recipe_for("vae") == {"epochs": 60, "batch_size": 64, "lr": 0.002}
    assert protocol.recipe_for("other") == {"epochs": 3, "lr": 0.1}
    raw["training"].pop("default")
    assert parse_protocol(raw).recipe_for("other") is None


def test_two_set_metrics_take_bootstrap_settings_and_single_set_metrics_refuse_them(raw):
    from genbench.evaluation.settings import metric_settings

    registry = load_registry()
    settings = metric_settings(parse_protocol(raw), registry)
    assert settings["fd"]["bootstrap"] == 200 and settings["coverage"]["nearest_k"] == 5
    raw["metrics"]["is"]["bootstrap"] = 100
    with pytest.raises(ProtocolError, match=r"^protocol digits.toml: unknown key 'bootstrap' in \[metrics.is\] "
                                            r"\(metric 'isc'\); known keys: extractor, feature, metric, rng_seed, "
                                            r"splits$"):
        metric_settings(parse_protocol(raw, source="digits.toml"), registry)
    # k-NN metrics take no bootstrap: duplicated rows shrink their radii (the interval could miss the point)
    del raw["metrics"]["is"]["bootstrap"]
    raw["metrics"]["coverage"]["bootstrap"] = 200
    with pytest.raises(ProtocolError, match=r"unknown key 'bootstrap' in \[metrics.coverage\] \(metric 'coverage'\)"):
        metric_settings(parse_protocol(raw, source="digits.toml"), registry)
