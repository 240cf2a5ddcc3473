"""The options of the commands that evaluate, declared once: the Python API takes these dataclasses, and
``genbench.cli.arguments`` makes each command's flags (name, type, default, help) from the same fields.

A field's ``metadata`` says how the command line spells it (``option``); fields with ``cli=False``
(the recorded command line) exist only in Python.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from genbench.errors import GenbenchError
from genbench.trust.seeds import check_run_seed


def option(default: Any = dataclasses.MISSING, help: str = "", *, parse: Callable[[str], Any] | None = None,
           env: str | None = None, metavar: str | None = None, flag: str | None = None, positional: bool = False,
           repeat: bool = False, choices: tuple[str, ...] | None = None, cli: bool = True) -> Any:
    """A dataclass field with its command-line spelling: ``parse`` turns the text into the value, ``env`` names
    the environment variable that gives the flag's default, ``repeat`` collects a flag given several times."""
    metadata = {"help": help, "parse": parse, "env": env, "metavar": metavar, "flag": flag,
                "positional": positional, "repeat": repeat, "choices": choices, "cli": cli}
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def whole_number(low: int, high: int | None = None, what: str | None = None) -> Callable[[str], int]:
    """A parser of whole numbers in ``low .. high``; its error says what was expected."""
    expected = what or f"a whole number of at least {low}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"expected {expected}, got '{text}'") from None
        if value < low or (high is not None and value > high):
            raise ValueError(f"expected {expected}, got {value}")
        return value

    return parse


def run_seed(text: str) -> int:
    """A run seed typed on the command line (the one range check is ``check_run_seed``)."""
    value = whole_number(-(2 ** 63), what="a whole number from 0 to 2**63 - 1")(text)
    try:
        return check_run_seed(value)
    except GenbenchError:
        raise ValueError(f"expected a whole number from 0 to 2**63 - 1, got {value}") from None


def key_value(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` -> ``(KEY, VALUE)``."""
    if "=" not in text:
        raise ValueError(f"expected KEY=VALUE, got '{text}'")
    key, value = text.split("=", 1)
    return key.strip(), value.strip()


def name_list(text: str) -> tuple[str, ...]:
    """``a,b`` -> ``("a", "b")``."""
    return tuple(m.strip() for m in text.split(",") if m.strip())


positive = whole_number(1)


@dataclass(kw_only=True)
class EnvironmentOptions:
    """Where weights and caches live, the device and the thread count: every command that extracts features."""

    device: str | None = option(None, "cpu, cuda or cuda:N (default: cuda when available, else cpu)")
    cache_dir: Path | None = option(None, "reference-feature cache (default: $GENBENCH_CACHE or ~/.cache/genbench)")
    weights_dir: Path | None = option(None, "directory searched first for extractor weights (default: "
                                            "$GENBENCH_WEIGHTS)", env="GENBENCH_WEIGHTS")
    trust_weights: bool = option(False, "accept extractor weights whose SHA-256 is not the official release's")
    threads: int | None = option(None, "CPU threads torch may use; 1 or 2 on a busy shared machine (default: "
                                       "$GENBENCH_THREADS, else one per core)", parse=int, metavar="N")

    def __post_init__(self) -> None:
        """Paths given as strings (the Python API) become ``Path``s, as the command line makes them."""
        hints = typing.get_type_hints(type(self))
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, str) and Path in typing.get_args(hints[item.name]) + (hints[item.name],):
                setattr(self, item.name, Path(value))


@dataclass(kw_only=True)
class ProtocolOptions(EnvironmentOptions):
    """What every command that evaluates under a protocol and writes a result takes."""

    protocol: str = option(help="protocol name or path to a protocol .toml file")
    results_dir: Path = option(Path("results"), "where result files go (default: results)")
    settings: dict[str, str] = option({}, "protocol override, e.g. protocol.sampling.num_samples=200 (the result "
                                          "gets its own fingerprint); repeatable", flag="--set", parse=key_value,
                                      metavar="KEY=VALUE", repeat=True)
    data_dir: Path | None = option(None, "local data root for data sets that download when online (default: "
                                         "$GENBENCH_DATA)", env="GENBENCH_DATA")
    allow_reference_mismatch: bool = option(
        False, "score against a reference set whose content identity differs from the protocol's pin (the result "
               "gets its own fingerprint and is never ranked with the standard one)")
    reference_file: Path | None = option(
        None, "the reference set from FILE instead of the protocol's reference split: an ADM reference batch, FID "
              "statistics (.npz with mu, sigma: pytorch-fid, torch-fidelity, clean-fid, genbench --export-stats) or "
              "EDM2's .pkl (read without unpickling); its SHA-256 is the reference identity", metavar="FILE")
    drop_metrics: tuple[str, ...] = option((), "comma-separated metric keys of the protocol to leave out, e.g. kid "
                                               "with a reference of statistics alone (the result gets its own "
                                               "fingerprint)", parse=name_list, metavar="KEYS")
    quiet: bool = option(False, "no progress bars or status lines")
    command: list[str] | None = option(None, "the command line recorded in the result", cli=False)


@dataclass(kw_only=True)
class ScoreOptions(ProtocolOptions):
    """``genbench score``: a protocol's metrics for samples made elsewhere."""

    samples: Path = option(help="folder of image files (sorted by name), or .npz as guided-diffusion and DiT write: "
                                "arr_0 uint8 [N, H, W, C] and, on class-conditional protocols, arr_1 the N classes")
    captions: Path | None = option(None, "text-to-image protocols: a text file with one caption per sample in sample "
                                         "order, or a .jsonl of {\"file\": ..., \"caption\": ...} naming each image "
                                         "of the samples folder")
    metrics: tuple[str, ...] = option((), "comma-separated metrics to add to the protocol, from fd_dinov2, cmmd, "
                                          "density, coverage, vendi, fid_infinity (the result then has its own "
                                          "fingerprint)", parse=name_list)
    bootstrap: int = option(0, "95%% bootstrap interval of every two-set metric from B resamplings of the "
                               "features (default: the protocol's)", parse=int, metavar="B")
    export_stats: Path | None = option(None, "also write the samples' feature statistics (mu/sigma of the protocol's "
                                             "Fréchet distances, mu_s/sigma_s for sFID) as an .npz FILE, to compare "
                                             "without sharing images", metavar="FILE")


@dataclass(kw_only=True)
class ReferenceOptions(ProtocolOptions):
    """``genbench reference``: the protocol's metrics for its own real images, or the reference set's identity."""

    seed: int | None = option(None, "seed of the split into halves (default: the protocol's seed)", parse=run_seed)
    print_identity: bool = option(False, "only print the reference set's content identity (what a protocol pins as "
                                         "data.reference_sha256) and its parts; no features, no result")
    export_selection: Path | None = option(None, "only write the reference set's selected records (COCO image and "
                                                 "caption ids) as a tab-separated FILE, for a paper to publish; no "
                                                 "features, no result", metavar="FILE")
    export_stats: Path | None = option(None, "only write the reference statistics as an .npz FILE (mu/sigma of the "
                                             "protocol's first Fréchet distance, mu_s/sigma_s for sFID, mu_NAME for "
                                             "others; the file's own where the reference is one); no result",
                                       metavar="FILE")


@dataclass
class CompareOptions(EnvironmentOptions):
    """``genbench compare``: metrics between two image folders, with torch-fidelity's key names (the two folders
    may be given by position), or Fréchet distances where either is a statistics file."""

    folder_a: Path = option(help="generated images (IS is computed on these), or a statistics file (.npz, .pkl)",
                            positional=True)
    folder_b: Path = option(help="reference images, or a statistics file (.npz with mu/sigma, ADM reference batch, "
                                 "EDM2 .pkl)", positional=True)
    metrics: tuple[str, ...] = option((), "comma-separated, from fid, kid, isc, prc (torch-fidelity's keys), "
                                          "fd_dinov2, cmmd, density, coverage, vendi, fid_infinity, sfid (default: "
                                          "fid,kid,isc; with a statistics file fid, and sfid where both sides have "
                                          "mu_s/sigma_s)", parse=name_list)
    kid_subset_size: int = option(1000, "KID subset size (default: 1000)", parse=positive)
    kid_subsets: int = option(100, "number of KID subsets (default: 100)", parse=positive)
    isc_splits: int = option(10, "Inception Score splits (default: 10)", parse=positive)
    allow_singular_covariance: bool = option(False, "compute FID even with no more images than the 2048 feature "
                                                    "dimensions")
    bootstrap: int = option(0, "add <key>_ci_low/_ci_high: the 95%% bootstrap interval of every two-set metric "
                               "from B resamplings of the features (default: 0, none)", parse=int, metavar="B")
    bootstrap_seed: int = option(0, "seed of the bootstrap resampling (default: 0)", parse=int)
