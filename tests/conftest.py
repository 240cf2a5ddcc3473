"""Shared fixtures: isolated cache/results directories and throwaway plugin distributions."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from tests_support import FAST

from genbench.registry import reset_registry


@pytest.fixture(scope="session")
def vae_checkpoint(tmp_path_factory) -> Path:
    """One quickly trained VAE checkpoint shared by the tests that only sample."""
    import genbench

    results = tmp_path_factory.mktemp("trained")
    record = genbench.run(plugin="vae", protocol="digits", results_dir=results, quiet=True,
                          settings={**FAST, "train.max_steps": "60"}, cache_dir=results / "cache")
    return Path(record["plugin"]["checkpoint"])


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    """Every test gets its own cache; no test reaches the network or the user's plugin switches."""
    monkeypatch.setenv("GENBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GENBENCH_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in ("GENBENCH_LOAD_PLUGINS", "GENBENCH_DISABLE_PLUGIN_AUTOLOAD", "GENBENCH_TRACE_PLUGINS",
                 "GENBENCH_WEIGHTS", "GENBENCH_DATA", "GENBENCH_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    reset_registry()
    yield
    reset_registry()


class PluginInstaller:
    """Installs throwaway plugin distributions the way pip does: a module plus a .dist-info
    with ``entry_points.txt``, on a directory put on ``sys.path``."""

    def __init__(self, root: Path, monkeypatch):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        monkeypatch.syspath_prepend(str(root))
        self.modules: list[str] = []

    def install(self, distribution: str, entry_point: str, module: str, source: str, version: str = "1.0") -> None:
        (self.root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        info = self.root / f"{distribution.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n",
                                       encoding="utf-8")
        (info / "entry_points.txt").write_text(f"[genbench]\n{entry_point} = {module}\n", encoding="utf-8")
        self.modules.append(module)


@pytest.fixture
def plugin_installer(tmp_path, monkeypatch):
    installer = PluginInstaller(tmp_path / "site", monkeypatch)
    yield installer
    for module in installer.modules:
        sys.modules.pop(module, None)
