"""Statistics files: the feature means and covariances (and reference images) the field passes around, read
safely and written.

Read (``read_statistics_file``):

- an ADM reference batch (openai/guided-diffusion ``evaluations/``): ``arr_0`` uint8 images ``[N, H, W, 3]``,
  optional ``arr_1`` class labels ``[N]``, ``mu``/``sigma`` (Inception pool_3, 2 048 values) and ``mu_s``/
  ``sigma_s`` (mixed_6/conv, 2 023 values);
- pytorch-fid, torch-fidelity, clean-fid and EDM statistics: ``mu``/``sigma`` only;
- genbench's own (``--export-stats``): the same names plus ``mu_NAME``/``sigma_NAME`` for other feature spaces,
  and ``genbench_statistics``, a JSON string that names each pair's extractor kind, feature, settings, weights
  identity and image count;
- EDM2's ``dataset-refs/*.pkl`` (``{"fid": {mu, sigma}, "fd_dinov2": {mu, sigma}, "num_images": N}``), through
  ``genbench.storage.safe_pickle``, which runs none of the pickle's code.

Files without ``genbench_statistics`` do not say which network made them: the names fix the space by the field's
convention (``Space.note`` says so, and results record it); clean-fid's default "clean" statistics are in another
resize's space that no file records. Every array's declared shape is checked before its data is read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genbench.errors import DataError
from genbench.storage.files import atomic_path
from genbench.storage.npz_files import NpzMember, npz_members, read_array
from genbench.storage.safe_pickle import load_numpy_pickle
from genbench.trust.hashing import sha256_file

META = "genbench_statistics"
#: The largest feature dimension a statistics file may declare (its covariance: 2 GiB of float64).
MAX_DIM = 16384


@dataclass(frozen=True)
class Space:
    """The feature space a pair of statistics summarises: an extractor kind, its feature and the settings that
    change its values; ``identity`` is the extractor's identity (weights SHA-256) when the file records it."""

    kind: str
    feature: str
    settings: dict[str, Any] = field(default_factory=dict)
    identity: Any = None
    #: How genbench knows the space, and what it could not check.
    note: str = ""

    def label(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in sorted(self.settings.items()))
        return f"{self.kind}/{self.feature}" + (f" ({settings})" if settings else "")


@dataclass(frozen=True)
class Statistics:
    """Mean and covariance (float64) of one feature space; ``name`` is the mean's array name (``mu``, ``mu_s``)."""

    name: str
    mu: np.ndarray
    sigma: np.ndarray
    space: Space
    count: int | None = None

    def as_dict(self) -> dict[str, np.ndarray]:
        """torch-fidelity's ``{"mu", "sigma"}``."""
        return {"mu": self.mu, "sigma": self.sigma}


@dataclass(frozen=True)
class StatisticsFile:
    """What a statistics file holds: its SHA-256, its format, its statistics, and its images and labels if any."""

    path: Path
    sha256: str
    format: str
    statistics: tuple[Statistics, ...]
    #: ``arr_0``: uint8 images ``[N, H, W, C]``, known from the header and read later, a slice at a time.
    images: NpzMember | None = None
    labels: np.ndarray | None = None


CONVENTION = "by the name's convention (the file records no network, weights or resize)"
#: Array names whose space the field's files fix by convention.
CONVENTIONS = {
    "mu": Space("inception", "2048", note=f"Inception pool_3 {CONVENTION}: ADM batches, pytorch-fid, torch-fidelity "
                                          f"and clean-fid statistics"),
    "mu_s": Space("inception", "spatial", note=f"the ADM evaluator's mixed_6/conv features {CONVENTION}"),
    "mu_fd_dinov2": Space("dinov2", "cls", {"size": "vitl14"},
                          note=f"EDM2's DINOv2 ViT-L/14 features {CONVENTION}; EDM2 resizes with torch bicubic "
                               f"(antialias), genbench's dinov2 extractor with PIL bicubic as dgm-eval: close, not "
                               f"identical"),
}
#: EDM2's pickled keys and the npz names they convert to.
EDM2_NAMES = {"fid": "mu", "fd_dinov2": "mu_fd_dinov2"}


def sigma_name(mu_name: str) -> str:
    """``mu`` -> ``sigma``, ``mu_s`` -> ``sigma_s``."""
    return "sigma" + mu_name[len("mu"):]


def _statistics(path: Path, name: str, mu: np.ndarray, sigma: np.ndarray, space: Space,
                count: int | None) -> Statistics:
    """A checked pair: float64, finite, a vector and its square covariance."""
    mu, sigma = np.asarray(mu, dtype=np.float64), np.asarray(sigma, dtype=np.float64)
    if mu.ndim != 1 or sigma.shape != (len(mu), len(mu)):
        raise DataError(f"{path}: {name} has shape {list(mu.shape)} and {sigma_name(name)} {list(sigma.shape)}; "
                        f"expected [D] and [D, D]")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise DataError(f"{path}: {name}/{sigma_name(name)} contain NaN or Inf")
    return Statistics(name, mu, sigma, space, count)


def _check_pair_headers(path: Path, mu: NpzMember, sigma: NpzMember | None) -> None:
    """The declared shapes of a pair, before its data is read."""
    if sigma is None:
        raise DataError(f"{path} has {mu.name} without {sigma_name(mu.name)}")
    dim = mu.shape[0] if len(mu.shape) == 1 else -1
    for member in (mu, sigma):
        if member.dtype.kind != "f":
            raise DataError(f"{path}: {member.name} is {member.dtype}, expected floating point")
    if dim < 1 or dim > MAX_DIM or sigma.shape != (dim, dim):
        raise DataError(f"{path}: {mu.name} is {list(mu.shape)} and {sigma.name} {list(sigma.shape)}; expected "
                        f"[D] and [D, D] with D at most {MAX_DIM}")


def _image_members(path: Path, members: dict[str, NpzMember]) -> tuple[NpzMember | None, np.ndarray | None]:
    """``arr_0`` (checked, not read) and ``arr_1`` (read) of a batch."""
    images, labels = members.get("arr_0"), members.get("arr_1")
    if images is not None and (images.dtype != np.uint8 or len(images.shape) != 4 or images.shape[3] not in (1, 3)):
        raise DataError(f"{path}: arr_0 is {images.dtype} {list(images.shape)}; expected uint8 images "
                        f"[N, H, W, C] with C = 1 or 3")
    if labels is None:
        return images, None
    if images is None or labels.dtype.kind not in "iu" or labels.shape != images.shape[:1]:
        raise DataError(f"{path}: arr_1 is {labels.dtype} {list(labels.shape)}; expected integer class labels, "
                        f"one per image of arr_0")
    return images, read_array(labels).astype(np.int64)


def _metadata(path: Path, members: dict[str, NpzMember]) -> dict[str, tuple[Space, int | None]]:
    """genbench's own description of the pairs (space and image count by mean's name), when the file has one."""
    member = members.pop(META, None)
    if member is None:
        return {}
    if member.dtype.kind != "U" or member.shape != ():
        raise DataError(f"{path}: {META} is {member.dtype} {list(member.shape)}, expected one JSON string")
    try:
        pairs = json.loads(str(read_array(member)[()]))["pairs"]
        return {name: (Space(p["kind"], p["feature"], dict(p["settings"]), p["identity"],
                             p.get("note") or "recorded by genbench"), p.get("count")) for name, p in pairs.items()}
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: {META} is not genbench's statistics description ({exc})") from None


def _read_npz(path: Path) -> StatisticsFile:
    members = npz_members(path)
    recorded = _metadata(path, members)
    unknown = [n for n in members if n not in ("arr_0", "arr_1") and not n.startswith(("mu", "sigma"))]
    if unknown:
        raise DataError(f"{path} holds array '{unknown[0]}'; a statistics file holds arr_0, arr_1, mu*/sigma* "
                        f"pairs and {META}")
    images, labels = _image_members(path, members)
    statistics = []
    for name in sorted(n for n in members if n.startswith("mu")):
        space, count = recorded.get(name) or (CONVENTIONS.get(name), None)
        if space is None:
            raise DataError(f"{path}: {name} has no known feature space (only mu, mu_s and mu_fd_dinov2 have one by "
                            f"convention; genbench's own files name theirs in {META})")
        _check_pair_headers(path, members[name], members.get(sigma_name(name)))
        statistics.append(_statistics(path, name, read_array(members[name]),
                                      read_array(members[sigma_name(name)]), space, count))
    orphans = [n for n in members if n.startswith("sigma") and "mu" + n[len("sigma"):] not in members]
    if orphans:
        raise DataError(f"{path} has {orphans[0]} without {'mu' + orphans[0][len('sigma'):]}")
    if not statistics and images is None:
        raise DataError(f"{path} holds neither statistics (mu, sigma) nor images (arr_0)")
    kind = "genbench statistics" if recorded else (
        "ADM reference batch" if images is not None or "mu_s" in members else "FID statistics (mu, sigma)")
    return StatisticsFile(path, sha256_file(path), kind, tuple(statistics), images, labels)


def edm2_conversion(path: Path) -> str:
    """How to turn EDM2's pickle into an .npz genbench reads, where the pickle is trusted."""
    out = Path(path).with_suffix(".npz")
    return (f"convert it where you trust the file: python -c \"import pickle, numpy as np; s = pickle.load(open("
            f"'{path}', 'rb')); np.savez('{out}', mu=s['fid']['mu'], sigma=s['fid']['sigma'], "
            f"mu_fd_dinov2=s['fd_dinov2']['mu'], sigma_fd_dinov2=s['fd_dinov2']['sigma'])\" (drop the fd_dinov2 "
            f"pair if the file has none) and pass {out}")


def _read_edm2(path: Path) -> StatisticsFile:
    conversion = edm2_conversion(path)
    loaded = load_numpy_pickle(path, conversion)
    if not isinstance(loaded, dict) or not set(loaded) & set(EDM2_NAMES):
        raise DataError(f"{path} is not EDM2 reference statistics ({{'fid': {{'mu', 'sigma'}}, ...}}); {conversion}")
    count = loaded.get("num_images")
    statistics = []
    for key, value in loaded.items():
        if key == "num_images":
            continue
        if key not in EDM2_NAMES or not isinstance(value, dict) or set(value) != {"mu", "sigma"}:
            raise DataError(f"{path}: entry '{key}' is not one of EDM2's {{mu, sigma}} pairs "
                            f"({', '.join(EDM2_NAMES)}); {conversion}")
        name = EDM2_NAMES[key]
        statistics.append(_statistics(path, name, value["mu"], value["sigma"], CONVENTIONS[name],
                                      int(count) if isinstance(count, (int, np.integer)) else None))
    return StatisticsFile(path, sha256_file(path), "EDM2 reference statistics (pickle)", tuple(statistics))


def read_statistics_file(path: Path) -> StatisticsFile:
    """A statistics file (see the module doc); anything malformed or unsafe is one ``DataError`` line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"statistics file {path} does not exist")
    return _read_edm2(path) if path.suffix.lower() == ".pkl" else _read_npz(path)


def write_statistics_file(path: Path, statistics: list[Statistics], about: dict[str, Any]) -> None:
    """Write ``statistics`` as an .npz (each pair under its names, float64) with ``genbench_statistics`` naming
    their spaces and ``about`` (protocol, fingerprint, side), atomically."""
    arrays: dict[str, np.ndarray] = {}
    pairs = {}
    for item in statistics:
        arrays[item.name], arrays[sigma_name(item.name)] = item.mu, item.sigma
        space = item.space
        pairs[item.name] = {"sigma": sigma_name(item.name), "kind": space.kind, "feature": space.feature,
                            "settings": space.settings, "identity": space.identity, "count": item.count,
                            "note": space.note}
    arrays[META] = np.array(json.dumps({"format": "genbench statistics 1", **about, "pairs": pairs}, sort_keys=True))
    with atomic_path(Path(path)) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
