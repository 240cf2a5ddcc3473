"""genbench.protocol.PROTOCOL_KEYS (the documented protocol keys) agrees with what parse_protocol accepts."""

from __future__ import annotations

import copy
import tomllib

import pytest

from genbench.errors import ProtocolError
from genbench.protocol import DECLARED_BY, DERIVED, PROTOCOL_KEYS, REQUIRED, builtin_protocol_files, parse_protocol

DIGITS = tomllib.loads(next(p for p in builtin_protocol_files() if p.name == "digits.toml").read_text("utf-8"))
#: Where parse_protocol puts each table's keys.
SECTIONS = {"": lambda p: p, "data": lambda p: p.data, "sampling": lambda p: p.sampling, "speed": lambda p: p.speed}


def _concrete(path: str, raw: dict) -> list[str]:
    """``extractors.NAME`` -> ``["extractors", "classifier"]`` for digits; ``""`` -> ``[]``."""
    parts: list[str] = []
    for part in path.split(".") if path else []:
        parts.append(next(iter(_at(raw, parts))) if part == "NAME" else part)
    return parts


def _at(raw: dict, parts: list[str]) -> dict:
    for part in parts:
        raw = raw[part]
    return raw


REQUIRED_KEYS = [(t, k) for t, keys in PROTOCOL_KEYS.items() for k, key in keys.items() if key.default is REQUIRED]
VALUE_DEFAULTS = [(t, k) for t, keys in PROTOCOL_KEYS.items() if t in SECTIONS for k, key in keys.items()
                  if key.default is not REQUIRED and key.kind is not dict]


@pytest.mark.parametrize(("path", "key"), REQUIRED_KEYS, ids=[f"{t}:{k}" for t, k in REQUIRED_KEYS])
def test_a_missing_required_key_is_refused_by_name(path, key):
    raw = copy.deepcopy(DIGITS)
    parts = _concrete(path, raw)
    del _at(raw, parts)[key]
    with pytest.raises(ProtocolError, match=f"'{'.'.join([*parts, key])}' is missing"):
        parse_protocol(raw, "digits.toml")


@pytest.mark.parametrize(("path", "key"), VALUE_DEFAULTS, ids=[f"{t}:{k}" for t, k in VALUE_DEFAULTS])
def test_documented_defaults_are_the_parsers(path, key):
    raw = copy.deepcopy(DIGITS)
    _at(raw, _concrete(path, raw)).pop(key, None)
    protocol = parse_protocol(raw, "digits.toml")
    value = getattr(SECTIONS[path](protocol), key)
    default = PROTOCOL_KEYS[path][key].default
    if default is DERIVED:  # documented as computed from other keys
        default = {"batch_size": protocol.sampling.shard_size, "batch_sizes": (1, protocol.sampling.batch_size)}[key]
    assert (list(value) if isinstance(value, tuple) and isinstance(default, list) else value) == default


def test_the_gallery_default_is_the_parsers():
    assert parse_protocol(copy.deepcopy(DIGITS), "digits.toml").gallery_samples == \
        PROTOCOL_KEYS["gallery"]["samples_per_prompt"].default


@pytest.mark.parametrize("path", builtin_protocol_files(), ids=lambda p: p.name)
def test_every_key_of_a_shipped_protocol_is_documented(path):
    raw = tomllib.loads(path.read_text("utf-8"))
    assert set(raw) <= set(PROTOCOL_KEYS[""])
    for table, keys in PROTOCOL_KEYS.items():
        if not table or table in DECLARED_BY:
            continue
        head, _, entries = table.partition(".")
        for found in (raw.get(head, {}).values() if entries else [raw.get(head, {})]):
            assert set(found) <= set(keys), f"{path.name} [{table}]"
