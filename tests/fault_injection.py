"""Run the real ``genbench`` command line and kill -9 it at a named point: the fault-injection suite's driver.

    python tests/fault_injection.py POINT COUNT genbench-arguments...

The process SIGKILLs itself at the COUNT-th time it reaches POINT, so where it dies is exact
and no test sleeps. Nothing in genbench knows about this: the driver wraps genbench's own
functions from outside, then calls ``genbench.cli.main`` as the console script does.

Points:
  sample         a batch returned by the plugin, before it is kept (mid-shard)
  shard-write    half of a shard's tensor file written (before its rename)
  shard-record   a shard's tensor file renamed, its hash record not yet written
  cache-write    half of a reference-cache tensor file written (shard writes are not counted)
  training-report  the trained checkpoint saved, its training report not yet written
  grid-write     half of the sample grid PNG written (before its rename)
  result-write   half of the result JSON written (before its rename)
  slow-shards    not a kill: each shard takes two more seconds, so a test can signal the run between shards
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path


def die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def at(count: int):
    """A function that kills the process on its ``count``-th call and does nothing before."""
    calls = [0]

    def reached() -> None:
        calls[0] += 1
        if calls[0] == count:
            die()

    return reached


def half_written(path: Path) -> None:
    """Cut a file to half its size: what a writer killed mid-write leaves."""
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: len(data) // 2])


#: Points where a small JSON is written through ``storage.atomic_write_text``, by the file name written.
WRITES = {
    "shard-record": lambda name: name.startswith("shard-") and name.endswith(".sha256.json"),
    "training-report": lambda name: name.endswith(".training.json"),
    "result-write": lambda name: "__" in name and name.endswith(".json") and not name.startswith("shard-"),
}


def install(point: str, count: int) -> None:
    import genbench.cli  # noqa: F401 - imported first, so that every binding below exists to be wrapped
    import genbench.runner.plugin_calls
    import genbench.runner.runner  # noqa: F401 - every module a run uses, so its bindings can be wrapped
    import genbench.runner.sampling
    import genbench.storage.files
    import genbench.storage.images

    reached = at(count)
    if point == "slow-shards":
        import time

        real_run_shard = genbench.runner.sampling.run_shard

        def slow(*args, **kwargs):
            tensors = real_run_shard(*args, **kwargs)
            time.sleep(2)
            return tensors

        genbench.runner.sampling.run_shard = slow
    elif point == "sample":
        real_validate = genbench.runner.plugin_calls.validate_batch

        def validate(*args, **kwargs):
            reached()
            return real_validate(*args, **kwargs)

        genbench.runner.plugin_calls.validate_batch = validate
    elif point in ("shard-write", "cache-write"):
        real_atomic = genbench.storage.files.atomic_path

        @contextmanager
        def killed_while_saving_tensors(path):
            with real_atomic(path) as tmp:
                yield tmp
                is_cache = "reference" in Path(path).parent.parts
                if Path(path).suffix == ".safetensors" and is_cache == (point == "cache-write"):
                    half_written(tmp)
                    reached()

        genbench.storage.files.atomic_path = killed_while_saving_tensors
    elif point in WRITES:
        wanted = WRITES[point]
        real_write = genbench.storage.files.atomic_write_text

        def atomic_write_text(path, text):
            if wanted(Path(path).name):
                if point == "result-write":  # die with half the text in the temp file, before the rename
                    with genbench.storage.files.atomic_path(Path(path)) as tmp:
                        tmp.write_text(text[: len(text) // 2], encoding="utf-8")
                        reached()
                else:
                    reached()
            real_write(path, text)

        for module in [m for name, m in sys.modules.items() if name.startswith("genbench")]:
            if getattr(module, "atomic_write_text", None) is real_write:  # every `from storage import` binding
                module.atomic_write_text = atomic_write_text
    elif point == "grid-write":
        real_atomic_path = genbench.storage.images.atomic_path

        class KilledWhileSaving:
            def __init__(self, path):
                self.inner = real_atomic_path(path)

            def __enter__(self):
                self.tmp = self.inner.__enter__()
                return self.tmp

            def __exit__(self, *exc):
                half_written(self.tmp)
                reached()
                return self.inner.__exit__(*exc)

        genbench.storage.images.atomic_path = KilledWhileSaving
    else:
        raise SystemExit(f"unknown fault point '{point}'")


if __name__ == "__main__":
    point, count, *arguments = sys.argv[1:]
    install(point, int(count))
    from genbench.cli import main

    sys.exit(main(arguments))
