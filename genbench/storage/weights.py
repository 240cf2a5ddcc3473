"""Finding, fetching and checking the weights files feature extractors and plugins load.

Order: the weights directory (``--weights-dir`` / ``GENBENCH_WEIGHTS``), then the library's
own cache directories, then a download (only when online). With none of them the error names
the missing file, where it comes from and where to put it, in one line. Files that the
consuming library unpickles are checked against the official release's SHA-256 and refused
unless the user passes ``--trust-weights``; the SHA-256 of what is used is always returned,
so it enters the result and the protocol fingerprint.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ContextManager, Iterable
from unittest import mock

from genbench.errors import WeightsError
from genbench.storage.downloads import DownloadFailed, attempt
from genbench.trust.hashing import sha256_file

#: Suffixes of pickled weights (``torch.save``, pickle): genbench's loaders never read them.
PICKLED_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle"})


@dataclass(frozen=True)
class WeightsSource:
    """One weights file: its name in a weights directory, its download address, its official hash."""

    filename: str
    url: str
    sha256: str | None = None
    #: The consuming library unpickles the file, so an unknown hash is refused unless trusted.
    unpickled: bool = False


def offline() -> bool:
    """True when downloads must not be tried (``GENBENCH_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``)."""
    return any(os.environ.get(v, "") not in ("", "0") for v in ("GENBENCH_OFFLINE", "HF_HUB_OFFLINE"))


def weights_dir_from_env(explicit: Path | str | None) -> Path | None:
    """The weights directory: the explicit one, else ``GENBENCH_WEIGHTS``, else None."""
    value = explicit or os.environ.get("GENBENCH_WEIGHTS")
    return Path(value) if value else None


def exported_weights_dir(directory: Path | str | None) -> ContextManager[None]:
    """While the block runs, plugins see ``directory`` as ``GENBENCH_WEIGHTS`` (their weights-dir route)."""
    return mock.patch.dict(os.environ, {"GENBENCH_WEIGHTS": str(directory)} if directory is not None else {})


def locate(source: WeightsSource, directories: Iterable[Path | None]) -> Path | None:
    """The first ``directory/filename`` that exists."""
    for directory in directories:
        if directory is not None and (Path(directory) / source.filename).is_file():
            return Path(directory) / source.filename
    return None


def verify(path: Path, source: WeightsSource, trust: bool) -> str:
    """SHA-256 of ``path``; an unpickled file that is not the official release needs ``trust``."""
    digest = sha256_file(path)
    if source.unpickled and digest != source.sha256 and not trust:
        official = (f"the official {source.filename} ({source.sha256[:16]}...)" if source.sha256
                    else f"a release genbench can check (no official SHA-256 is pinned for {source.filename})")
        raise WeightsError(
            f"{path} has SHA-256 {digest[:16]}..., not {official}; "
            f"it would be unpickled, so pass --trust-weights to use it anyway"
        )
    return digest


def resolve(source: WeightsSource, weights_dir: Path | None, cache_dirs: Iterable[Path] = (),
            download: Callable[[], Path] | None = None, trust: bool = False) -> tuple[Path, str]:
    """Path and SHA-256 of ``source``: weights dir, then caches, then ``download()`` when online.

    Giving a weights directory means "work offline": no download is tried, so a missing file
    fails at once instead of after a hub client's retries.
    """
    directories = [weights_dir, *cache_dirs]
    path = locate(source, directories)
    if path is None and download is not None and weights_dir is not None:
        reason = "downloads are off when a weights directory is given"
    elif path is None and download is not None and not offline():
        try:
            path = Path(attempt(download))
        except DownloadFailed as failed:  # DNS, refused, timeout, HTTP: the same one-line error as offline
            path = None
            reason = f"download failed ({failed.reason})"
        else:
            reason = ""
    elif path is None:
        reason = "offline" if download is not None else "no download source"
    if path is None or not path.is_file():
        looked = ", ".join(str(d) for d in directories if d is not None) or "no weights directory given"
        raise WeightsError(
            f"weights file '{source.filename}' not found (looked in: {looked}; {reason}); download it from "
            f"{source.url} and put it in --weights-dir or $GENBENCH_WEIGHTS"
        )
    return path, verify(path, source, trust)


def refuse_pickled_weights(directory: Path) -> None:
    """A ``WeightsError`` when a saved diffusers pipeline or model (the folder or one of its component folders)
    holds pickled weights and no safetensors: every plugin that loads pipelines calls this first, so the
    user learns that the refusal is on purpose and how to convert, not that some file is missing."""
    root = Path(directory)
    folders = [root, *sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))]
    for folder in folders:
        pickled = sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix in PICKLED_SUFFIXES)
        if pickled and not any(folder.glob("*.safetensors")):
            raise WeightsError(
                f"{folder} holds pickled weights ({', '.join(pickled)}) and no .safetensors: genbench refuses pickled "
                f"weights on purpose (unpickling can run code from the file); convert them once, where you trust the "
                f"file, with diffusers' save_pretrained(..., safe_serialization=True), e.g. "
                f"DiffusionPipeline.from_pretrained('{root}').save_pretrained('{root}', safe_serialization=True)")
