"""The prompt gallery: a protocol's prompts, N images each with fixed seeds, one grid PNG per prompt.

Gallery image i of every prompt gets seed ``sample_seed(GALLERY_SEED, i)`` whatever the run's
seed, so grids of different models line up image for image. Where the protocol has a ``clip``
extractor, each prompt also gets its diversity (mean pairwise CLIP cosine distance of its
images): a collapsed model shows 0 next to its grid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import torch

from genbench.evaluation.conversion import Conversion
from genbench.evaluation.session import Evaluation
from genbench.extractors.base import FeatureExtractor
from genbench.metrics.diversity import group_diversities
from genbench.models.base import GenerativeModel, SampleBatch
from genbench.protocols.protocol import Protocol
from genbench.runner.plugin_calls import converted_batch
from genbench.storage.images import save_grid
from genbench.trust.seeds import sample_seed

#: Run seed of gallery images, apart from evaluation (0, 1, ...) and speed (2**20) seeds.
GALLERY_SEED = 2 ** 21


def gallery_seeds(samples: int) -> list[int]:
    return [sample_seed(GALLERY_SEED, i) for i in range(samples)]


def render_gallery(sample: Callable[[SampleBatch], torch.Tensor], prompts: tuple[str, ...], samples: int,
                   device: torch.device, directory: Path, stem: str,
                   extractor: FeatureExtractor | None = None) -> list[dict[str, Any]]:
    """Sample and save one grid per prompt as ``<stem>.gallery-NN.png``; returns the ``artifacts.gallery`` list.

    ``sample`` returns validated uint8 images for a batch.
    """
    seeds = gallery_seeds(samples)
    entries = []
    for index, prompt in enumerate(prompts):
        captions = [prompt] * samples
        images = sample(SampleBatch(seeds, device, captions=captions))
        file = f"{stem}.gallery-{index:02d}.png"
        save_grid(images, Path(directory) / file, nrow=samples)
        entry: dict[str, Any] = {"prompt": prompt, "file": file, "seeds": seeds}
        if extractor is not None and samples >= 2:
            features = extractor.extract(images, captions)["image"]
            entry["diversity"] = group_diversities(features, torch.zeros(samples, dtype=torch.long))[0]
        entries.append(entry)
    return entries


def draw_gallery(log: Callable[[str], None], model: GenerativeModel, plugin: str, protocol: Protocol,
                 evaluation: Evaluation, conversion: Conversion, results_dir: Path,
                 run_id: str) -> list[dict[str, Any]]:
    """The run's gallery grids of the protocol's prompts (none without prompts), in the protocol's format, with the
    protocol's ``clip`` extractor giving each prompt's diversity."""
    if not protocol.prompts:
        return []
    log(f"drawing the prompt gallery ({len(protocol.prompts)} prompts)")

    def sample(batch: SampleBatch) -> torch.Tensor:
        return converted_batch(model, plugin, batch, conversion).cpu()

    clip = next((evaluation.extractors[n] for n, s in protocol.extractors.items() if s["kind"] == "clip"), None)
    return render_gallery(sample, protocol.prompts, protocol.gallery_samples, evaluation.device, results_dir, run_id,
                          clip)
