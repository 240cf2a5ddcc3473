"""Every table of a protocol file has a known set of keys: a typo is one line naming file, table, key and
the closest known key, never a silently forked fingerprint."""

from __future__ import annotations

import copy
import tomllib

import pytest

from genbench.cli import main
from genbench.errors import ProtocolError
from genbench.evaluation.settings import check_declared_settings
from genbench.protocols.protocol import builtin_protocol_files, load_protocol_file, parse_protocol
from genbench.protocols.schema import PROTOCOL_KEYS
from genbench.registry import load_registry

PROTOCOLS = {p.stem: p for p in builtin_protocol_files()}

EXTRACTOR_PLUGIN = '''
import torch
from genbench import hookimpl
from genbench.extractors.base import ExtractorSpec, FeatureExtractor


class Mean(FeatureExtractor):
    feature_names = ("mean",)
    weights_sha256 = "none"

    def extract(self, images, captions=None):
        return {"mean": images.double().mean((2, 3))}


@hookimpl
def genbench_extractors():
    return [ExtractorSpec(name="pixel-mean", description="mean pixel", build=lambda settings, context: Mean(),
                          settings={"depth": 3})]
'''


def digits_raw() -> dict:
    return tomllib.loads(PROTOCOLS["digits"].read_text(encoding="utf-8"))


@pytest.mark.parametrize("correct, typo, message", [
    ("feature_batch_size = 50", "feature_bach_size = 50",
     "unknown key 'feature_bach_size' in [sampling]; did you mean 'feature_batch_size'?"),
    ("repeats = 5", "repats = 5", "unknown key 'repats' in [speed]; did you mean 'repeats'?"),
    ("test_accuracy = 0.9861", "test_acuracy = 0.9861",
     "unknown key 'test_acuracy' in [extractors.classifier] (extractor kind 'classifier'); "
     "did you mean 'test_accuracy'?"),
])
def test_the_reported_typos_are_refused_by_genbench_run(tmp_path, capsys, correct, typo, message):
    text = PROTOCOLS["digits"].read_text(encoding="utf-8")
    assert text.count(correct) == 1
    path = tmp_path / "mine.toml"
    path.write_text(text.replace(correct, typo), encoding="utf-8")
    results = tmp_path / "results"
    code = main(["run", "--plugin", "vae", "--protocol", str(path), "--checkpoint", str(tmp_path / "none"),
                 "--results-dir", str(results), "--quiet"])
    assert code == 2
    assert capsys.readouterr().err == f"genbench: error: protocol {path}: {message}\n"
    assert not results.exists() or list(results.rglob("*.json")) == []


@pytest.mark.parametrize("edit, message", [
    (lambda r: r.update(nmae="x"), "unknown key 'nmae' at the top level; did you mean 'name'?"),
    (lambda r: r.update(gallery={"samples_per_promt": 4}),
     "unknown key 'samples_per_promt' in [gallery]; did you mean 'samples_per_prompt'?"),
    (lambda r: r["training"]["vae"].update(epoch=3), "unknown key 'epoch' in [training.vae]; did you mean 'epochs'?"),
    (lambda r: r["training"]["vae"].update(schedule="cosine"),
     "unknown key 'schedule' in [training.vae]; known keys: batch_size, config, ema, epochs, lr, lr_d, max_steps, "
     "weight_decay"),
    (lambda r: r["training"]["vae"].update(epochs=0), "field 'training.vae.epochs' must be positive, got 0"),
])
def test_every_table_refuses_unknown_keys_when_parsed(edit, message):
    raw = digits_raw()
    edit(raw)
    with pytest.raises(ProtocolError) as error:
        parse_protocol(raw, source="mine.toml")
    assert str(error.value) == f"protocol mine.toml: {message}"


def test_metric_settings_are_declared_by_the_metric():
    raw = digits_raw()
    raw["metrics"]["kid"]["subset_sise"] = raw["metrics"]["kid"].pop("subset_size")
    with pytest.raises(ProtocolError) as error:
        check_declared_settings(parse_protocol(raw, source="mine.toml"), load_registry())
    assert str(error.value) == ("protocol mine.toml: unknown key 'subset_sise' in [metrics.kid] (metric 'kid'); "
                                "did you mean 'subset_size'?")


def test_data_settings_are_declared_by_the_dataset():
    shapes = tomllib.loads(PROTOCOLS["shapes"].read_text(encoding="utf-8"))
    registry = load_registry()
    check_declared_settings(parse_protocol(shapes), registry)
    typo = copy.deepcopy(shapes)
    typo["data"]["train_sise"] = typo["data"].pop("train_size")
    with pytest.raises(ProtocolError) as error:
        check_declared_settings(parse_protocol(typo, source="s.toml"), registry)
    assert str(error.value) == ("protocol s.toml: unknown key 'train_sise' in [data] (dataset 'shapes'); "
                                "did you mean 'train_size'?")
    digits = digits_raw()
    digits["data"]["imagesize"] = 16
    with pytest.raises(ProtocolError, match=r"unknown key 'imagesize' in \[data\] \(dataset 'digits'\); did you mean "
                                            r"'image_size'\?$"):
        check_declared_settings(parse_protocol(digits, source="d.toml"), registry)
    digits = digits_raw()
    digits["data"]["num_captions"] = 100  # a coco setting means nothing to digits
    with pytest.raises(ProtocolError, match=r"unknown key 'num_captions' in \[data\] \(dataset 'digits'\); known keys: "
                                            r"channels, dataset, image_size, reference_sha256, reference_split, train_split$"):
        check_declared_settings(parse_protocol(digits, source="d.toml"), registry)


def test_third_party_extractors_get_the_same_check(plugin_installer):
    plugin_installer.install("acme-mean", "acme_mean", "acme_mean_plugin", EXTRACTOR_PLUGIN)
    registry = load_registry()
    raw = digits_raw()
    raw["extractors"]["mean"] = {"kind": "pixel-mean", "depth": 2}
    raw["metrics"]["fd_mean"] = {"metric": "fid", "extractor": "mean", "feature": "mean"}
    check_declared_settings(parse_protocol(raw), registry)
    raw["extractors"]["mean"] = {"kind": "pixel-mean", "deph": 2}
    with pytest.raises(ProtocolError) as error:
        check_declared_settings(parse_protocol(raw, source="m.toml"), registry)
    assert str(error.value) == ("protocol m.toml: unknown key 'deph' in [extractors.mean] (extractor kind "
                                "'pixel-mean'); did you mean 'depth'?")


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_every_shipped_protocol_uses_only_known_keys(name):
    protocol = load_protocol_file(PROTOCOLS[name])
    check_declared_settings(protocol, load_registry())
    assert set(protocol.raw) <= set(PROTOCOL_KEYS[""])


def test_the_schema_documents_every_key():
    for table, keys in PROTOCOL_KEYS.items():
        for key, spec in keys.items():
            assert isinstance(spec.kind, type) and spec.doc, f"[{table}] {key}"
    assert set(PROTOCOL_KEYS[""]) >= {t.split(".")[0] for t in PROTOCOL_KEYS if t}
