"""A protocol's data: its splits loaded through the registered data set, and the reference set's identity
checked against the protocol's pin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genbench.datasets.base import DataRequest, ImageDataset
from genbench.datasets.reference_file import NAME as REFERENCE_FILE
from genbench.datasets.reference_file import PATH_OPTION
from genbench.errors import DataError, PluginError
from genbench.models.base import ImageFormat
from genbench.protocols.protocol import Protocol
from genbench.registry import Registry
from genbench.trust.reference_identity import reference_identity


def data_identity(protocol: Protocol, split: str) -> dict[str, Any]:
    """What names a split of the protocol's data (the data set, the geometry, the data options)."""
    data = protocol.data
    return {"dataset": data.dataset, "split": split, "image_size": data.image_size,
            "channels": data.channels, "options": data.options}


def load_split(protocol: Protocol, split: str, data_dir: Path | None, registry: Registry,
               allow_mismatch: bool = False) -> ImageDataset:
    """The protocol's ``split`` at its size, as the registered data set loads it; images are checked.
    ``allow_mismatch``: the loader records its own pins that do not match instead of refusing them."""
    data = protocol.data
    request = DataRequest(split, data.image_size, data.channels, Path(data_dir) if data_dir else None, data.options,
                          allow_mismatch)
    dataset = registry.dataset(data.dataset).load(request)
    ImageFormat(data.image_size, data.channels).check(dataset.images, f"dataset '{data.dataset}' load()",
                                                      error=PluginError)
    return dataset


def load_reference(protocol: Protocol, data_dir: Path | None, reference_file: Path | None,
                   registry: Registry, allow_mismatch: bool = False) -> ImageDataset:
    """The protocol's reference split; with ``reference_file`` (``--reference-file``), that file read by the
    ``reference-file`` data set instead, keeping the protocol's own settings for it when it names that data set;
    ``allow_mismatch`` as ``load_split``'s."""
    if reference_file is None:
        return load_split(protocol, protocol.data.reference_split, data_dir, registry, allow_mismatch)
    data = protocol.data
    options = dict(data.options) if data.dataset == REFERENCE_FILE else {}
    request = DataRequest(data.reference_split, data.image_size, data.channels, Path(data_dir) if data_dir else None,
                          {**options, PATH_OPTION: str(reference_file)})
    return registry.dataset(REFERENCE_FILE).load(request)


def checked_reference_identity(protocol: Protocol, reference: ImageDataset, allow_mismatch: bool) -> dict[str, Any]:
    """The reference set's identity (``genbench.trust.reference_identity``), refused when it is not the protocol's
    pin unless ``allow_mismatch`` (then it carries ``mismatch: {expected, found}``)."""
    identity = reference_identity(reference)
    pinned = protocol.data.reference_sha256
    if pinned is None or pinned == identity["sha256"]:
        return identity
    if not allow_mismatch:
        raise DataError(f"reference data of protocol '{protocol.name}' ({protocol.data.dataset}/"
                        f"{protocol.data.reference_split}) has identity {identity['sha256']}, the protocol pins "
                        f"{pinned} (another release or a damaged copy?); pass --allow-reference-mismatch to score "
                        f"against it under its own fingerprint")
    return {**identity, "mismatch": {"expected": pinned, "found": identity["sha256"]}}
