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
"""

from __future__ import annotations

import os
import signal
import sys
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


def install(point: str, count: int) -> None:
    import genbench.grid
    import genbench.results
    import genbench.runner
    import genbench.storage

    reached = at(count)
    if point == "sample":
        real_validate = genbench.runner.validate_batch

        def validate(*args, **kwargs):
            reached()
            return real_validate(*args, **kwargs)

        genbench.runner.validate_batch = validate
    elif point in ("shard-write", "cache-write"):
        real_save = genbench.storage.save_file

        def save_file(tensors, filename, *args, **kwargs):
            real_save(tensors, filename, *args, **kwargs)
            is_cache = "reference" in Path(filename).parent.parts
            if is_cache == (point == "cache-write"):
                half_written(Path(filename))
                reached()

        genbench.storage.save_file = save_file
    elif point == "shard-record":
        real_write = genbench.storage.atomic_write_text

        def atomic_write_text(path, text):
            if Path(path).name.startswith("shard-"):
                reached()
            real_write(path, text)

        genbench.storage.atomic_write_text = atomic_write_text
    elif point == "training-report":
        real_report = genbench.runner.atomic_write_text

        def write_report(path, text):
            reached()
            real_report(path, text)

        genbench.runner.atomic_write_text = write_report
    elif point == "grid-write":
        real_atomic_path = genbench.grid.atomic_path

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

        genbench.grid.atomic_path = KilledWhileSaving
    elif point == "result-write":
        real_result_write = genbench.results.atomic_write_text

        def write_result_text(path, text):
            with genbench.storage.atomic_path(Path(path)) as tmp:
                tmp.write_text(text[: len(text) // 2], encoding="utf-8")
                reached()
            real_result_write(path, text)

        genbench.results.atomic_write_text = write_result_text
    else:
        raise SystemExit(f"unknown fault point '{point}'")


if __name__ == "__main__":
    point, count, *arguments = sys.argv[1:]
    install(point, int(count))
    from genbench.cli import main

    sys.exit(main(arguments))
