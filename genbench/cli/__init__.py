"""The ``genbench`` command line: builds the parser from ``genbench.cli.commands`` and maps errors to exit codes.

Every ``GenbenchError`` is printed as one line on stderr with exit status 2; set
``GENBENCH_DEBUG=1`` to see the traceback instead. A reader that closes the pipe early
(``genbench show R.json | head -1``) ends the command quietly, as ``head`` and ``grep`` expect.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from typing import Sequence

from genbench.errors import GenbenchError, Terminated, debugging

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader left

#: Subcommand modules under ``genbench.cli``, in the order ``--help`` lists them.
COMMANDS = ("list", "run", "show", "sweep", "score", "compare", "leaderboard", "reference")


def build_parser() -> argparse.ArgumentParser:
    from genbench import __version__

    parser = argparse.ArgumentParser(
        prog="genbench",
        description="Evaluate image generative models under pinned, fingerprinted protocols.",
        epilog="examples:\n  genbench list\n  genbench run --plugin vae --protocol digits\n"
               "  genbench show results/<run>.json\n\n'genbench COMMAND --help' describes each command.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"genbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"genbench.cli.commands.{name}")
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(handle=module.handle)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _run_command(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def _run_command(argv: list[str]) -> int:
    """Parse, run the subcommand, and flush stdout while a closed pipe can still be caught."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit:  # --help, --version, usage errors: argparse has printed its text
        sys.stdout.flush()
        raise
    args.argv = argv
    previous = signal.signal(signal.SIGTERM, _terminate) if threading.current_thread() is threading.main_thread() \
        else None
    try:
        if hasattr(args, "threads"):
            from genbench.evaluation.device import use_threads

            use_threads(args.threads)
        status = args.handle(args)
        sys.stdout.flush()
        return status
    except GenbenchError as exc:
        if debugging():
            raise
        print(f"genbench: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated) or getattr(exc, "terminated", False)
        note = getattr(exc, "note", None)
        print(f"genbench: {'terminated' if terminated else 'interrupted'}{f' {note}' if note else ''}",
              file=sys.stderr)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM as an exception where the process is, so that interrupted work is left as Ctrl-C leaves it."""
    raise Terminated


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that Python's final flush does not fail again (Python's docs, "SIGPIPE")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
