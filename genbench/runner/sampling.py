"""The sampling pass: a run's images made shard by shard, each shard's features (and digests) saved in the
run's work directory as it finishes, so an interrupted run resumes where it stopped and ends with the same
numbers; under ``torchrun`` the shards are dealt over the ranks and gathered on the main one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm.auto import tqdm

from genbench.extractors.base import FeatureExtractor
from genbench.extractors.feature_pass import extract_features
from genbench.models.training import bar_disabled
from genbench.protocols.conditions import Conditions
from genbench.protocols.protocol import Protocol
from genbench.runner.context import RunContext
from genbench.runner.shards import Shard, assign_shards, gather_shards, plan_shards
from genbench.storage.files import atomic_write_text, load_verified, save_verified
from genbench.storage.housekeeping import WORK_DIR
from genbench.trust.digests import image_digests

#: Images kept on the CPU for the result's sample grid.
GRID_IMAGES = 64
#: Shard tensor holding each image's digest (``genbench.trust.digests``).
DIGESTS = "image_digests"
#: File in a work directory recording what the run's key was made of.
RUN_PARTS = "run.json"

#: ``sample(indices) -> uint8 images`` of those run indices, validated, on the sampling device.
Sampler = Callable[[list[int]], torch.Tensor]


def shard_path(work_dir: Path, index: int) -> Path:
    """Where shard ``index`` of a run keeps its features (and grid images) until the result is written."""
    return work_dir / f"shard-{index:06d}.safetensors"


def shards_kept(work_dir: Path, protocol: Protocol) -> str:
    """What an interrupted sampling pass leaves: how many of the run's shards are finished, and where."""
    total = len(plan_shards(protocol.sampling.num_samples, protocol.sampling.shard_size))
    done = len(list(work_dir.glob("shard-*.safetensors.sha256.json")))
    return f"while sampling: {done} of {total} shards are kept in {work_dir}; the same command resumes from them"


def record_run_parts(ctx: RunContext, results_dir: Path, stem: str, work_dir: Path, run_parts: dict[str, Any]) -> None:
    """Write what the run's key is made of into its work directory; an unfinished run of other code or settings
    in a sibling directory is not resumed, and the log says what differs."""
    if ctx.group.is_main and not (work_dir / RUN_PARTS).exists():
        comparable = json.loads(json.dumps(run_parts, default=str))
        for sibling in sorted((results_dir / WORK_DIR).glob(f"{stem}-*/{RUN_PARTS}")):
            try:
                earlier = json.loads(sibling.read_text(encoding="utf-8"))
                changed = sorted(k for k in comparable if earlier.get(k) != comparable[k])
            except (OSError, ValueError, AttributeError):
                continue
            ctx.log(f"not resuming the unfinished run in {sibling.parent}: changed since: "
                    f"{', '.join(changed)}; starting fresh")
        atomic_write_text(work_dir / RUN_PARTS, json.dumps(comparable, sort_keys=True, indent=1))


def sample_and_extract(ctx: RunContext, sample: Sampler, plugin: str, protocol: Protocol,
                       extractors: dict[str, FeatureExtractor], conditions: Conditions,
                       work_dir: Path) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """Features of all generated images (keyed ``extractor/feature``), the images kept for the grid and each
    image's digest; on ranks other than the main one, empty tensors."""
    sampling = protocol.sampling
    shards = plan_shards(sampling.num_samples, sampling.shard_size)
    local = {s.index: t for s in shards if (t := load_verified(shard_path(work_dir, s.index))) is not None}
    owners = assign_shards(ctx.group.all_gather_flags([s.index in local for s in shards],
                                                      "sharing which shards are finished"))
    todo = [s for s in shards if owners[s.index] == ctx.group.rank and s.index not in local]
    if local:
        ctx.log(f"resuming: {len(local)} of {len(shards)} shards already done in {work_dir}")
    bar = tqdm(total=sampling.num_samples, initial=sampling.num_samples - sum(len(s) for s in todo),
               desc=f"sampling {plugin}", unit="img", disable=bar_disabled(ctx.progress), leave=False)
    for shard in todo:
        local[shard.index] = run_shard(ctx, sample, protocol, extractors, conditions, shard, work_dir, bar)
    bar.close()
    done = gather_shards(ctx.group, shards, owners, local)
    keep_shards_on_main(ctx, work_dir, shards, done)
    if done is None:
        return {}, torch.empty(0), torch.empty(0)
    keys = [k for k in done[0] if k not in ("images", DIGESTS)]
    features = {k: torch.cat([done[s.index][k] for s in shards]) for k in keys}
    images = torch.cat([done[s.index]["images"] for s in shards if "images" in done[s.index]])
    digests = torch.cat([done[s.index][DIGESTS] for s in shards])
    return features, images, digests


def keep_shards_on_main(ctx: RunContext, work_dir: Path, shards: list[Shard],
                        done: dict[int, dict[str, torch.Tensor]] | None) -> None:
    """Once the main rank holds every shard, the other ranks delete their work directories and the main rank
    saves the shards it lacks in its own, so a restart from here resumes on the main rank alone."""
    group = ctx.group
    if not group.is_distributed:
        return
    group.barrier("handing the shards to rank 0")
    if done is None:
        shutil.rmtree(work_dir, ignore_errors=True)
    group.barrier("handing the shards to rank 0")
    if done is not None:
        for shard in shards:
            if not shard_path(work_dir, shard.index).exists():
                save_verified(shard_path(work_dir, shard.index), done[shard.index], {"start": shard.start})


def run_shard(ctx: RunContext, sample: Sampler, protocol: Protocol, extractors: dict[str, FeatureExtractor],
              conditions: Conditions, shard: Shard, work_dir: Path, bar: tqdm) -> dict[str, torch.Tensor]:
    """Sample one shard in batches, extract its features in the protocol's fixed chunks and save them."""
    batch_size = ctx.options.batch_size or protocol.sampling.batch_size
    parts = []
    for start in range(shard.start, shard.stop, batch_size):
        stop = min(start + batch_size, shard.stop)
        parts.append(sample(list(range(start, stop))))  # stays on the sampling device
        bar.update(stop - start)
    images = torch.cat(parts)
    tensors = extract_features(extractors, images, conditions.slice(shard.start, shard.stop).captions,
                               protocol.sampling.feature_batch_size)
    tensors[DIGESTS] = image_digests(images)  # on the sampling device
    if shard.index * protocol.sampling.shard_size < GRID_IMAGES or ctx.options.save_samples:
        tensors["images"] = images.cpu()  # only the grid's shards and --save-samples come to the CPU
    save_verified(shard_path(work_dir, shard.index), tensors, {"start": shard.start})
    return tensors
