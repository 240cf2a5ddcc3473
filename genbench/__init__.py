"""genbench: evaluate image generative models under pinned, fingerprinted protocols.

Python API: ``genbench.run(plugin="vae", protocol="digits")`` returns the result record;
``genbench.load_results(DIR)`` returns a pandas DataFrame; plugins use ``genbench.hookimpl``.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genbench.registry.hookspecs import hookimpl

try:
    __version__ = importlib.metadata.version("genbench")
except importlib.metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

if TYPE_CHECKING:
    import pandas


def run(plugin: str, protocol: str, *, checkpoint: str | Path | None = None, device: str | None = None,
        seed: int | None = None, results_dir: str | Path = "results", settings: dict[str, Any] | None = None,
        batch_size: int | None = None, save_samples: bool = False, quiet: bool = False,
        cache_dir: str | Path | None = None, weights_dir: str | Path | None = None,
        data_dir: str | Path | None = None, trust_weights: bool = False, threads: int | None = None,
        allow_nondeterministic: bool = False, allow_reference_mismatch: bool = False,
        command: list[str] | None = None) -> dict[str, Any]:
    """Evaluate ``plugin`` on ``protocol``, write one result file and return its record (``record["path"]``).

    Every keyword is the ``genbench run`` option of the same name (listed below), except
    ``command``, the command line recorded in the result. ``settings`` is ``--set`` as a dict.
    """
    from genbench.runner.runner import run as _run

    return _run(plugin, protocol, checkpoint=None if checkpoint is None else Path(checkpoint), device=device,
                seed=seed, results_dir=Path(results_dir), settings=dict(settings or {}), batch_size=batch_size,
                save_samples=save_samples, quiet=quiet, cache_dir=_path(cache_dir), weights_dir=_path(weights_dir),
                data_dir=_path(data_dir), trust_weights=trust_weights, threads=threads,
                allow_nondeterministic=allow_nondeterministic, allow_reference_mismatch=allow_reference_mismatch,
                command=command)


def _path(value: str | Path | None) -> Path | None:
    return None if value is None else Path(value)


def _cli_options(command: str) -> str:
    """``genbench COMMAND``'s options as ``name (--flag): help`` lines, for the docstrings of the API's functions."""
    import argparse
    import importlib

    parser = argparse.ArgumentParser(add_help=False)
    importlib.import_module(f"genbench.cli.commands.{command}").add_arguments(parser)
    return "\n".join(f"    {a.dest} ({', '.join(a.option_strings) or a.dest}): {a.help}" for a in parser._actions)


if run.__doc__:  # None under python -OO
    run.__doc__ += f"\n    Options of ``genbench run``:\n\n{_cli_options('run')}\n"


def load_results(results_dir: str, strict: bool = False) -> "pandas.DataFrame":
    """Every readable result file in ``results_dir`` as one DataFrame row each; an unreadable one is skipped
    with a warning naming it (``strict=True``: raises ``ResultsError`` instead)."""
    from genbench.storage.results import load_results as _load

    return _load(results_dir, strict)


__all__ = ["hookimpl", "load_results", "run", "__version__"]
