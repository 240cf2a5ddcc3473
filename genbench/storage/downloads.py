"""Downloads that fail fast and alike: a network failure becomes a reason inside one line, never a traceback.

Every download genbench starts (data sets through torchvision, COCO's zips, weights through torch
hub, open_clip, clean-fid or a diffusers hub name) runs through ``attempt``: sockets get a
timeout, so a black-holed connection fails within seconds instead of hanging, and whatever a
failed download raises (DNS failure, refused connection, timeout, HTTP error, a truncated or
corrupt file) comes back as ``DownloadFailed`` with a short reason. The caller puts that reason
into the same one-line error it gives offline: expected layout, source, and how to pass a copy.
Hub clients retry a failed request with back-off (about 25 s per file for ``huggingface_hub``),
so hub downloads first ``check_reachable`` the host (or the proxy) and fail at once when no
connection can be made.
"""

from __future__ import annotations

import http.client
import socket
import tarfile
import urllib.parse
import urllib.request
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")

#: Seconds a socket may wait to connect or for the next bytes (not for the whole file).
DOWNLOAD_TIMEOUT_SECONDS = 20.0
#: Seconds ``check_reachable`` waits for a TCP connection.
PROBE_TIMEOUT_SECONDS = 5.0
#: What failed downloads raise: ``OSError`` covers urllib's ``URLError``/``HTTPError``, socket and DNS errors,
#: timeouts, requests' and the hub's errors; torchvision reports a corrupt download as ``RuntimeError``.
FAILURES = (OSError, RuntimeError, http.client.HTTPException, EOFError, zipfile.BadZipFile, tarfile.TarError)


class DownloadFailed(Exception):
    """A download did not bring the file; ``reason`` is one line for the caller's error message."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def failure_reason(exc: BaseException) -> str:
    """``URLError: <urlopen error [Errno 111] Connection refused>``: the type and the first line."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


@contextmanager
def network_timeout(seconds: float | None = None) -> Iterator[None]:
    """Sockets opened inside the block time out after ``seconds`` (default ``DOWNLOAD_TIMEOUT_SECONDS``)."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_SECONDS if seconds is None else seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def check_reachable(url: str) -> None:
    """``DownloadFailed`` at once when no TCP connection to ``url``'s host (or its proxy) can be opened."""
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        proxy_parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        host, port = proxy_parts.hostname or "", proxy_parts.port or 80
    try:
        socket.create_connection((host, port), timeout=PROBE_TIMEOUT_SECONDS).close()
    except OSError as exc:
        raise DownloadFailed(f"{host}:{port} unreachable ({failure_reason(exc)})") from None


def hub_endpoint() -> str:
    """The Hugging Face hub address the hub client uses (``HF_ENDPOINT`` when set, e.g. a mirror)."""
    from huggingface_hub import constants

    return constants.ENDPOINT


def attempt(download: Callable[[], T]) -> T:
    """``download()`` with a socket timeout; any failure is re-raised as ``DownloadFailed``."""
    with network_timeout():
        try:
            return download()
        except FAILURES as exc:
            raise DownloadFailed(failure_reason(exc)) from None


@contextmanager
def download_directory(directory: Path) -> Iterator[Path]:
    """``directory``, created for a download; the directories this made are removed again when the download
    fails, so a machine without network keeps no empty cache folders behind (``~/.cache/torch/hub/...``)."""
    directory = Path(directory)
    created = [d for d in (directory, *directory.parents) if not d.exists()]
    directory.mkdir(parents=True, exist_ok=True)
    try:
        yield directory
    except BaseException:
        for made in created:  # deepest first
            try:
                made.rmdir()
            except OSError:  # not empty (someone else wrote there) or already gone: leave it
                break
        raise
