"""What ``genbench run`` (and ``genbench.run``) is given: one declaration for the command line and the API."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from genbench.errors import GenbenchError
from genbench.evaluation.options import ProtocolOptions, key_value, option, positive, run_seed


@dataclass(kw_only=True)
class RunOptions(ProtocolOptions):
    """Everything ``genbench run`` accepts; ``genbench.run`` takes the same names."""

    plugin: str = option(help="model plugin name (see `genbench list`)")
    checkpoint: Path | None = option(None, "checkpoint to evaluate; without it the protocol's training recipe "
                                           "trains the model first (saved under RESULTS_DIR/checkpoints)")
    seed: int | None = option(None, "run seed (default: the protocol's sampling seed)", parse=run_seed)
    settings: dict[str, str] = option({}, "model setting (e.g. steps=20), training override (train.epochs=2) or "
                                          "protocol override (protocol.sampling.num_samples=200, which changes the "
                                          "fingerprint); repeatable", flag="--set", parse=key_value,
                                      metavar="KEY=VALUE", repeat=True)
    batch_size: int | None = option(None, "sampling batch size (does not change any metric)", parse=positive)
    save_samples: bool = option(False, "also write every generated image as PNG")
    allow_nondeterministic: bool = option(
        False, "evaluate a plugin whose images do not depend on their seeds alone (the result says "
               "deterministic: false and the leaderboard never ranks it)")
    allow_large_plan: bool = option(False, "run a plan whose features need more disk than is free or more than half "
                                           "the machine's memory (refused by default: a mistyped sample count)")

    def __post_init__(self) -> None:
        """Numbers that reach a run without the command line (the Python API) are checked the same way."""
        super().__post_init__()
        size = self.batch_size
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 1):
            raise GenbenchError(f"batch_size must be a whole number of at least 1, got {size!r}")
