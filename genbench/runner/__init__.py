"""The runner: a model in, images out, a result written (``Runner``; ``genbench.run`` is its Python face).

``RunOptions`` is imported eagerly (it is light); the runner itself loads on first use.
"""

from typing import Any

from genbench.runner.options import RunOptions

__all__ = ["RunOptions", "Runner", "run"]


def __getattr__(name: str) -> Any:
    if name in ("Runner", "run"):
        from genbench.runner import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'genbench.runner' has no attribute '{name}'")
