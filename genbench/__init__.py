"""genbench: evaluate image generative models under pinned, fingerprinted protocols.

Python API: ``genbench.run(plugin="vae", protocol="digits")`` returns the result record;
``genbench.load_results(DIR)`` returns a pandas DataFrame; plugins use ``genbench.hookimpl``.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import inspect
import os
from typing import TYPE_CHECKING, Any

from genbench.registry.hookspecs import hookimpl
from genbench.runner.options import RunOptions

# torch's OpenMP threads sleep while they wait instead of spinning: on a machine whose cores other jobs hold,
# spinning threads take the cores the working one needs (the demo's VAE trained 25x slower beside two busy
# processes). Read when torch starts its threads: nothing above imports torch. A user's own setting wins.
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

try:
    __version__ = importlib.metadata.version("genbench")
except importlib.metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

if TYPE_CHECKING:
    import pandas


def run(plugin: str, protocol: str, **options: Any) -> dict[str, Any]:
    """Evaluate ``plugin`` on ``protocol``, write one result file and return its record (``record["path"]``).

    Every keyword is the ``genbench run`` option of the same name (listed below; the one declaration of them
    is ``genbench.runner.RunOptions``): ``settings`` is ``--set`` as a dict, paths may be strings, and
    ``command`` is the command line recorded in the result.
    """
    from genbench.runner import run as _run

    return _run(plugin, protocol, **options)


def _documented(function: Any) -> None:
    """``function``'s signature and option list from ``RunOptions``'s fields, as ``help(genbench.run)`` shows them."""
    fields = [f for f in dataclasses.fields(RunOptions) if f.name not in ("plugin", "protocol")]
    parameters = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str)
                  for name in ("plugin", "protocol")]
    parameters += [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, annotation=f.type,
                                     default=f.default if f.default_factory is dataclasses.MISSING
                                     else f.default_factory()) for f in fields]
    function.__signature__ = inspect.Signature(parameters, return_annotation="dict[str, Any]")
    if function.__doc__:  # None under python -OO
        every = dataclasses.fields(RunOptions)
        flags = {f.name: f.metadata.get("flag") or f"--{f.name.replace('_', '-')}" for f in every}
        lines = [f"    {f.name} ({flags[f.name]}): {f.metadata.get('help')}" for f in every if f.metadata.get("cli")]
        lines += [f"    {f.name}: {f.metadata.get('help')}" for f in every if not f.metadata.get("cli")]
        function.__doc__ += "\n    Options:\n\n" + "\n".join(lines) + "\n"


_documented(run)


def load_results(results_dir: str, strict: bool = False) -> "pandas.DataFrame":
    """Every readable result file in ``results_dir`` as one DataFrame row each; an unreadable one is skipped
    with a warning naming it (``strict=True``: raises ``ResultsError`` instead)."""
    from genbench.storage.results import load_results as _load

    return _load(results_dir, strict)


__all__ = ["hookimpl", "load_results", "run", "__version__"]
