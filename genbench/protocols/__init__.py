"""Protocols as data: the shipped TOML files, their schema, parsing and fingerprint, the conditions a run asks
for, ``--set`` overrides and the metrics a user may add."""
