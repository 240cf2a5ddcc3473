"""genbench: evaluate image generative models under pinned, fingerprinted protocols.

Python API: ``genbench.run(plugin="vae", protocol="digits")`` returns the result record;
``genbench.load_results(DIR)`` returns a pandas DataFrame; plugins use ``genbench.hookimpl``.
"""

from __future__ import annotations

import importlib.metadata
from typing import TYPE_CHECKING, Any

from genbench.hookspecs import hookimpl

try:
    __version__ = importlib.metadata.version("genbench")
except importlib.metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

if TYPE_CHECKING:
    import pandas


def run(plugin: str, protocol: str, **options: Any) -> dict[str, Any]:
    """Evaluate ``plugin`` on ``protocol`` (options as in ``genbench run``); returns the result record."""
    from genbench.runner import run as _run

    return _run(plugin, protocol, **options)


def load_results(results_dir: str) -> "pandas.DataFrame":
    """Every result file in ``results_dir`` as one DataFrame row each."""
    from genbench.results import load_results as _load

    return _load(results_dir)


__all__ = ["hookimpl", "load_results", "run", "__version__"]
