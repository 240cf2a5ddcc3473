"""The shape of a COCO captions file, checked once when it is read: every key genbench uses, at every entry.

``images`` is a list of ``{"id": int, "file_name": str}`` and ``annotations`` a list of
``{"id": int, "image_id": int, "caption": str}`` whose ``image_id`` is the id of an image (other
keys are ignored). What does not fit is one line naming the file and the key, e.g.
``annotations[3].caption is a number, expected a string``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genbench.errors import DataError

ENTRIES = {"images": {"id": int, "file_name": str}, "annotations": {"id": int, "image_id": int, "caption": str}}
EXPECTED = {int: "an integer", str: "a string"}


def kind(value: Any) -> str:
    """What a JSON value is, in words: ``a number``, ``an object``, ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {str: "a string", list: "a list", dict: "an object"}[type(value)]


def checked_image_files(content: Any, path: Path) -> dict[int, str]:
    """The image id -> file name map of a parsed captions file, once its shape is checked (module doc)."""
    def refuse(problem: str) -> None:
        raise DataError(f"{path}: not a COCO captions file: {problem}")

    if not isinstance(content, dict):
        refuse(f"the file holds {kind(content)}, expected an object")
    for key, fields in ENTRIES.items():
        if key not in content:
            refuse(f"no key '{key}'")
        if not isinstance(content[key], list):
            refuse(f"'{key}' is {kind(content[key])}, expected a list")
        for index, entry in enumerate(content[key]):
            if not isinstance(entry, dict):
                refuse(f"{key}[{index}] is {kind(entry)}, expected an object")
            for name, expected in fields.items():
                if name not in entry:
                    refuse(f"no key '{name}' in {key}[{index}]")
                value = entry[name]
                if not isinstance(value, expected) or isinstance(value, bool):
                    refuse(f"{key}[{index}].{name} is {kind(value)}, expected {EXPECTED[expected]}")
    files = {entry["id"]: entry["file_name"] for entry in content["images"]}
    for index, entry in enumerate(content["annotations"]):
        if entry["image_id"] not in files:
            refuse(f"annotations[{index}].image_id {entry['image_id']} is the id of no entry in 'images'")
    return files
