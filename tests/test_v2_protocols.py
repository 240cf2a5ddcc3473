"""cifar10-50k, coco5k and coco30k with DINOv2 FD and CMMD: v1 plus fd_dinov2, CMMD and bootstrap intervals; v1
unchanged beside them; their first names (``-v2``) still select them, with a notice."""

from __future__ import annotations

import pytest

from genbench.evaluation.settings import metric_settings
from genbench.registry import get_registry


@pytest.mark.parametrize("old, new", [("cifar10-50k", "cifar10-50k-dinov2-cmmd"), ("coco5k", "coco5k-dinov2-cmmd"),
                                      ("coco30k", "coco30k-dinov2-cmmd")])
def test_v2_adds_dinov2_fd_cmmd_and_intervals_to_v1(old, new):
    registry = get_registry()
    v1, v2 = registry.protocol(old), registry.protocol(new)
    assert v2.version == 2 and v2.name != v1.name  # the v1 file stays runnable beside it
    weights = {"inception": "i", "clip": "c", "dinov2": "d", "clip_image": "e"}
    assert v1.fingerprint(weights, "r") != v2.fingerprint(weights, "r")
    assert v2.extractors["dinov2"] == {"kind": "dinov2", "size": "vitl14"}
    assert v2.extractors["clip_image"] == {"kind": "clip-image", "model": "ViT-L-14-336", "pretrained": "openai"}
    keys = {m.key for m in v2.metrics}
    assert keys == {m.key for m in v1.metrics} | {"fd_dinov2", "cmmd"}
    settings = metric_settings(v2, registry)
    assert settings["fid"]["bootstrap"] == settings["fd_dinov2"]["bootstrap"] == 200
    assert (settings["cmmd"]["sigma"], settings["cmmd"]["scale"], settings["cmmd"]["estimator"]) == \
        (10.0, 1000.0, "reference")
    # everything else is v1's: data, sampling, the v1 metrics' settings
    assert (v2.data, v2.sampling) == (v1.data, v1.sampling)
    old_settings = metric_settings(v1, registry)
    for key, value in old_settings.items():
        assert {k: v for k, v in settings[key].items() if k != "bootstrap"} == value


@pytest.mark.parametrize("name", ["cifar10-50k", "coco5k", "coco30k"])
def test_the_first_names_still_select_the_renamed_protocols_and_say_so(name, capsys):
    registry = get_registry()
    assert registry.protocol(f"{name}-v2") is registry.protocol(f"{name}-dinov2-cmmd")
    assert capsys.readouterr().err == (f"genbench: protocol '{name}-v2' is now called '{name}-dinov2-cmmd'; use the "
                                       f"new name (the old one will go away)\n")
    assert f"{name}-v2" not in registry.protocols
