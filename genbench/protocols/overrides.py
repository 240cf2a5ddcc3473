"""``--set`` overrides: which keys go to the model, its training recipe or the protocol, and the protocol with
its dotted fields replaced (a new definition, so a new fingerprint)."""

from __future__ import annotations

import copy
from typing import Any

from genbench.errors import ProtocolError
from genbench.protocols.protocol import Protocol, parse_protocol

#: Top-level keys that say which protocol this is: a result filed under another name would be ranked with it.
IDENTITY_KEYS = ("name", "version", "task")


def split_settings(settings: dict[str, str]) -> tuple[dict[str, str], dict[str, Any], dict[str, str]]:
    """``--set`` pairs -> (model settings, training recipe overrides ``train.*``, protocol overrides ``protocol.*``)."""
    model, recipe, protocol = {}, {}, {}
    for key, value in settings.items():
        if key.startswith("train."):
            recipe[key[len("train."):]] = literal(value)
        elif key.startswith("protocol."):
            protocol[key[len("protocol."):]] = value
        else:
            model[key] = value
    return model, recipe, protocol


def literal(value: Any) -> Any:
    """'3' -> 3, '0.5' -> 0.5, 'true' -> True; other strings stay strings."""
    if not isinstance(value, str):
        return value
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(value.lower(), value)


def override_protocol(protocol: Protocol, overrides: dict[str, str]) -> Protocol:
    """A copy of ``protocol`` with dotted fields replaced; it gets its own fingerprint."""
    if not overrides:
        return protocol
    raw = copy.deepcopy(protocol.raw)
    for dotted, value in overrides.items():
        if dotted in IDENTITY_KEYS:
            raise ProtocolError(f"--set protocol.{dotted}: a protocol's name, version and task are its identity, "
                                f"not settings; copy the file and rename it instead")
        *path, last = dotted.split(".")
        table = raw
        for part in path:
            if not isinstance(table.get(part), dict):
                raise ProtocolError(f"--set protocol.{dotted}: protocol '{protocol.name}' has no table '{part}'")
            table = table[part]
        if last not in table:
            raise ProtocolError(f"--set protocol.{dotted}: protocol '{protocol.name}' has no field '{last}'")
        table[last] = literal(value)
    return parse_protocol(raw, source=f"{protocol.source} (with --set overrides)")
