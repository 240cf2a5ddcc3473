"""Meta-test: what a built-in model lists as a capability is what ``--set`` accepts, and the reverse."""

from __future__ import annotations

import pytest

from genbench.models.base import CAPABILITIES, SETTING_CAPABILITIES, GenerativeModel
from genbench.registry import load_registry


def model_classes() -> list[type[GenerativeModel]]:
    """Every model class of the built-in plugins (loading the registry imports them), including classes
    only ``load`` returns (``PretrainedLatentDiffusion`` for a diffusers pipeline directory)."""
    load_registry()
    found, pending = set(), list(GenerativeModel.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("genbench_models."):
            found.add(cls)
    return sorted(found, key=lambda c: c.__qualname__)


@pytest.mark.parametrize("cls", model_classes(), ids=lambda c: c.__qualname__)
def test_setting_capabilities_and_declared_settings_agree(cls):
    assert cls.capabilities <= CAPABILITIES
    assert cls.capabilities & SETTING_CAPABILITIES == set(cls.settings) & SETTING_CAPABILITIES, (
        f"{cls.__qualname__} lists capabilities {sorted(cls.capabilities)} "
        f"but declares settings {sorted(cls.settings)}")
    cls.check_settings({key: str(default) for key, default in cls.settings.items()})  # each one --set-able


def test_the_meta_test_sees_every_builtin_model():
    names = {c.__qualname__ for c in model_classes()}
    assert {"BetaVAE", "DDPM", "DDIM", "CosineDDIM", "LatentDiffusion", "PretrainedLatentDiffusion", "GALIP",
            "DFGAN", "ConditionalVAE", "GuidedDDPM", "GuidedDDIM"} <= names
