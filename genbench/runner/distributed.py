"""Running one evaluation over several processes and machines with torch.distributed (``torchrun``).

Nothing needs to be shared between machines: each rank keeps its finished shards in its own
work directory (so a restarted rank resumes from them), and everything the main rank needs
travels through collectives (gloo for CPU tensors, NCCL on GPUs): shard features, the
reference features' chunks, a trained checkpoint's bytes. Tensors travel as safetensors bytes
and small records as JSON, so nothing received is ever unpickled. A peer that dies makes the
collective fail at once (its sockets close), and the error names the rank that was lost.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import torch
import torch.distributed as dist
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from genbench.errors import GenbenchError, debugging
from genbench.evaluation.device import launched_world_size
from genbench.storage.files import atomic_path
from genbench.trust.hashing import sha256_file

#: How long a rank waits for a peer that neither answers nor dies (seconds); ``GENBENCH_DISTRIBUTED_TIMEOUT``.
DEFAULT_TIMEOUT_S = 1800


class LostRankError(GenbenchError):
    """A peer rank died or stopped answering: the job cannot finish (torchrun may restart it)."""


@dataclass(frozen=True)
class ProcessGroup:
    """This process's place in the run: its rank and the number of processes."""

    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    def barrier(self, doing: str = "waiting for every rank") -> None:
        """Wait for every rank (a no-op in a single process)."""
        if self.is_distributed:
            with _naming_lost_peer(doing):
                dist.barrier()

    def all_gather_flags(self, flags: list[bool], doing: str) -> list[list[bool]]:
        """Every rank's list of flags (same length on all ranks), indexed by rank."""
        if not self.is_distributed:
            return [list(flags)]
        local = torch.tensor([int(f) for f in flags], dtype=torch.int64, device=_wire_device())
        gathered = [torch.empty_like(local) for _ in range(self.world_size)]
        with _naming_lost_peer(doing):
            dist.all_gather(gathered, local)
        return [[bool(v) for v in t.tolist()] for t in gathered]

    def broadcast_bytes(self, data: bytes | None, source: int, doing: str) -> bytes:
        """``data`` of rank ``source`` on every rank."""
        if not self.is_distributed:
            assert data is not None
            return data
        device = _wire_device()
        size = torch.tensor([len(data) if self.rank == source else 0], dtype=torch.int64, device=device)
        with _naming_lost_peer(doing, source if self.rank != source else None):
            dist.broadcast(size, src=source)
            payload = (torch.frombuffer(bytearray(data), dtype=torch.uint8).to(device) if self.rank == source
                       else torch.empty(int(size.item()), dtype=torch.uint8, device=device))
            if payload.numel():
                dist.broadcast(payload, src=source)
        return data if self.rank == source else bytes(payload.cpu().numpy())

    def broadcast_json(self, value: Any, source: int, doing: str) -> Any:
        """A JSON-able value of rank ``source`` on every rank."""
        data = json.dumps(value, sort_keys=True).encode() if self.rank == source else None
        return json.loads(self.broadcast_bytes(data, source, doing).decode())

    def send_tensors(self, tensors: dict[str, torch.Tensor], destination: int, doing: str) -> None:
        """Send named CPU tensors to one rank (which calls ``receive_tensors``)."""
        data = save_tensors({k: v.detach().cpu().contiguous() for k, v in tensors.items()})
        device = _wire_device()
        with _naming_lost_peer(doing, destination):
            dist.send(torch.tensor([len(data)], dtype=torch.int64, device=device), dst=destination)
            dist.send(torch.frombuffer(bytearray(data), dtype=torch.uint8).to(device), dst=destination)

    def receive_tensors(self, source: int, doing: str) -> dict[str, torch.Tensor]:
        """Named CPU tensors sent by ``source`` with ``send_tensors``."""
        device = _wire_device()
        size = torch.empty(1, dtype=torch.int64, device=device)
        with _naming_lost_peer(doing, source):
            dist.recv(size, src=source)
            payload = torch.empty(int(size.item()), dtype=torch.uint8, device=device)
            dist.recv(payload, src=source)
        return load_tensors(bytes(payload.cpu().numpy()))


def share_file(group: ProcessGroup, path: Path, doing: str) -> None:
    """Make rank 0's file ``path`` exist, byte for byte, at the same path on every rank (hash-checked).

    Ranks whose copy already has the main rank's SHA-256 (a shared disk, an earlier attempt) receive nothing.
    """
    if not group.is_distributed:
        return
    path = Path(path)
    digest = group.broadcast_json(sha256_file(path) if group.is_main else None, 0, f"{doing} (hash)")
    needs = not group.is_main and not (path.is_file() and sha256_file(path) == digest)
    wanted = group.all_gather_flags([needs], f"{doing} (who needs it)")
    if not any(flags[0] for flags in wanted):
        return
    data = group.broadcast_bytes(path.read_bytes() if group.is_main else None, 0, doing)
    if not needs:
        return
    if hashlib.sha256(data).hexdigest() != digest:
        raise GenbenchError(f"rank {group.rank}: {path.name} arrived with another SHA-256 than rank 0's ({digest[:12]}…)")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def _wire_device() -> torch.device:
    """Where collective buffers live: the current GPU under NCCL, the CPU under gloo."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


@contextmanager
def _naming_lost_peer(doing: str, peer: int | None = None) -> Iterator[None]:
    """Turns a failed collective into a one-line ``LostRankError`` naming the peer (when one is known)."""
    try:
        yield
    except RuntimeError as exc:  # gloo and NCCL raise DistBackendError / RuntimeError subclasses
        if debugging():
            raise
        who = f"rank {peer}" if peer is not None else "a peer rank"
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise LostRankError(f"rank {dist.get_rank()} lost {who} while {doing} ({first_line}); "
                            f"with torchrun --max-restarts=K the job restarts and resumes from every rank's "
                            f"finished shards") from None


def distributed_timeout() -> datetime.timedelta:
    """How long a collective waits for a silent peer (``GENBENCH_DISTRIBUTED_TIMEOUT`` seconds)."""
    text = os.environ.get("GENBENCH_DISTRIBUTED_TIMEOUT", str(DEFAULT_TIMEOUT_S))
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if seconds <= 0:
        raise GenbenchError(f"GENBENCH_DISTRIBUTED_TIMEOUT must be a positive number of seconds, got '{text}'")
    return datetime.timedelta(seconds=seconds)


def attempt_store(timeout: datetime.timedelta) -> dist.Store | None:
    """A namespace of torchrun's shared store that is new for this attempt of the job (None when not needed).

    torchrun (c10d rendezvous) keeps one store for every restart of the job, and the keys each attempt's
    process group writes there have the same names; a restarted rank could read a dead peer's address
    and fail to connect. Rank 0 draws a new generation number on each attempt; the other ranks wait for a
    generation newer than the one their rank last joined, and every rank uses that generation's keys.
    """
    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True":
        return None
    store = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), is_master=False,
                          timeout=timeout)
    rank = int(os.environ["RANK"])
    base = f"genbench/{os.environ.get('TORCHELASTIC_RUN_ID', 'run')}"
    generation_key, seen_key = f"{base}/generation", f"{base}/seen/{rank}"
    if rank == 0:
        generation = store.add(generation_key, 1)
    else:
        last = int(store.get(seen_key)) if store.check([seen_key]) else 0
        deadline = time.monotonic() + timeout.total_seconds()
        while (generation := int(store.get(generation_key)) if store.check([generation_key]) else 0) <= last:
            if time.monotonic() > deadline:
                raise LostRankError(f"rank {rank} waited {timeout.total_seconds():.0f} s for rank 0 to start")
            time.sleep(0.05)
    store.set(seen_key, str(generation))
    return dist.PrefixStore(f"{base}/{generation}", store)


def process_group(device: torch.device) -> ProcessGroup:
    """The current process group, joining it (NCCL on GPUs, gloo on CPUs) when ``torchrun`` launched us.

    The device must be chosen first: NCCL binds this rank to it.
    """
    launched = launched_world_size() > 1 or "TORCHELASTIC_RUN_ID" in os.environ  # torchrun, even with one process
    if dist.is_available() and not dist.is_initialized() and launched:
        if device.type == "cuda":
            torch.cuda.set_device(device)
        backend, timeout = ("nccl" if device.type == "cuda" else "gloo"), distributed_timeout()
        store = attempt_store(timeout)
        if store is None:
            dist.init_process_group(backend, timeout=timeout)
        else:
            dist.init_process_group(backend, store=store, rank=int(os.environ["RANK"]),
                                    world_size=launched_world_size(), timeout=timeout)
    if dist.is_available() and dist.is_initialized():
        return ProcessGroup(dist.get_rank(), dist.get_world_size())
    return ProcessGroup()
