"""The one check every outside link on the site passes: an absolute http(s) URL with a host, or nothing.

Result files may come from strangers; a ``javascript:``, ``data:`` or scheme-relative URL written into
an ``href`` would run or load whatever the file's author chose when a reader clicks it.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

_UNSAFE_CHARACTERS = re.compile(r"[\s\x00-\x1f\x7f<>\"'`\\]")


def http_url(value: Any) -> str | None:
    """``value`` when it is an absolute http:// or https:// URL with a host and no whitespace, else None."""
    if not isinstance(value, str) or _UNSAFE_CHARACTERS.search(value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc or not value.startswith(f"{parts.scheme}://"):
        return None
    return value
