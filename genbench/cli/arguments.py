"""Command-line flags made from the option dataclasses (``genbench.evaluation.options``), so each option is
declared once: its flag, type, default and help come from its field, and parsed arguments become the dataclass."""

from __future__ import annotations

import argparse
import dataclasses
import os
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def _argparse_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse`` with its ``ValueError`` turned into argparse's usage error (the message kept)."""
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


def ordered_fields(options: type) -> list[dataclasses.Field]:
    """The dataclass's fields as ``--help`` lists them: required ones first, then each class's own before its
    bases' (what the command is about before the environment every command shares)."""
    owner: dict[str, int] = {}
    for level, cls in enumerate(options.__mro__):
        for name in getattr(cls, "__annotations__", {}):
            owner.setdefault(name, level)  # the most derived class that declares it
    fields = dataclasses.fields(options)
    required = [f for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    by_owner = sorted(fields, key=lambda f: owner[f.name])
    return [f for f in by_owner if f in required] + [f for f in by_owner if f not in required]


def add_options(parser: argparse.ArgumentParser, options: type, exclude: tuple[str, ...] = ()) -> None:
    """One flag (or positional argument) per command-line field of the dataclass ``options``."""
    for item in ordered_fields(options):
        meta = item.metadata
        if not meta.get("cli", True) or item.name in exclude:
            continue
        kwargs: dict[str, Any] = {"help": meta.get("help")}
        if meta.get("metavar"):
            kwargs["metavar"] = meta["metavar"]
        if meta.get("choices"):
            kwargs["choices"] = meta["choices"]
        required = item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING
        if item.type in (bool, "bool"):
            kwargs["action"] = "store_true"
        else:
            if meta.get("parse"):
                kwargs["type"] = _argparse_type(meta["parse"])
            elif "Path" in str(item.type):
                from pathlib import Path

                kwargs["type"] = Path
            if meta.get("repeat"):
                kwargs.update(action="append", default=[])
            elif not required:
                default = item.default if item.default_factory is dataclasses.MISSING else item.default_factory()
                if meta.get("env") and os.environ.get(meta["env"]):
                    default = kwargs.get("type", str)(os.environ[meta["env"]])
                kwargs["default"] = default
        if meta.get("positional"):
            parser.add_argument(item.name, **kwargs)
        else:
            if required:
                kwargs["required"] = True
            parser.add_argument(meta.get("flag") or f"--{item.name.replace('_', '-')}", dest=item.name, **kwargs)


def options_from_args(options: type[T], args: argparse.Namespace) -> T:
    """The dataclass ``options`` filled from parsed ``args``, with the command line recorded as ``command``."""
    values: dict[str, Any] = {}
    for item in dataclasses.fields(options):
        if item.name == "command":
            values["command"] = ["genbench", *getattr(args, "argv", [])]
        elif hasattr(args, item.name):
            value = getattr(args, item.name)
            values[item.name] = dict(value) if item.metadata.get("repeat") else value
    return options(**values)
