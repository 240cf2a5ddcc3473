"""Rebuild ``shapes_clip.safetensors``: ``python -m genbench.reference.build_shapes_clip``.

A tiny open_clip model (architecture ``genbench-shapes-clip.json`` beside this file) trained
contrastively with open_clip's own ``ClipLoss`` on the shapes training split (seeded, CPU, one
thread). It is the feature space of the ``shapes`` protocol: Fréchet distance and KID of its image
embeddings, CLIP score against the captions and per-caption diversity, all offline. Prints the
test split's caption accuracy (the right one of the 180 captions is the nearest) and the SHA-256;
both are pinned in ``protocols/shapes.toml``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from genbench.datasets.base import DataRequest
from genbench.datasets.shapes import load_shapes_split
from genbench.extractors.open_clip_models import REFERENCE_CONFIGS, ClipModel, register_reference_configs
from genbench.trust.hashing import sha256_file

MODEL_NAME = "genbench-shapes-clip"
IMAGE_SIZE = 32


def train_shapes_clip(images: torch.Tensor, captions: list[str], epochs: int = 30, seed: int = 0,
                      batch_size: int = 200, lr: float = 1e-3) -> ClipModel:
    """Contrastive training of the tiny shapes CLIP on uint8 images and their captions."""
    import open_clip

    register_reference_configs()
    torch.manual_seed(seed)
    model = open_clip.create_model(MODEL_NAME, output_dict=True)
    clip = ClipModel(model, open_clip.get_tokenizer(MODEL_NAME), MODEL_NAME, "trained", "", torch.device("cpu"))
    tokens = clip.tokenizer(captions)
    pixels = clip.preprocess_tensor(images)
    loss_fn = open_clip.loss.ClipLoss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.1)
    order = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        for index in torch.randperm(len(images), generator=order).split(batch_size):
            out = model(pixels[index], tokens[index])
            loss = loss_fn(out["image_features"], out["text_features"], out["logit_scale"])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval().requires_grad_(False)
    return clip


def caption_accuracy(clip: ClipModel, images: torch.Tensor, captions: list[str]) -> float:
    """Share of images whose nearest caption (among all distinct captions) is their own."""
    vocabulary = sorted(set(captions))
    texts = clip.encode_texts(vocabulary)
    nearest = (clip.encode_images(images) @ texts.T).argmax(1)
    truth = torch.tensor([vocabulary.index(c) for c in captions])
    return float((nearest == truth).float().mean())


def build(path: Path = REFERENCE_CONFIGS / "shapes_clip.safetensors") -> tuple[float, str]:
    from safetensors.torch import save_file

    torch.set_num_threads(1)  # bit-for-bit reproducible on any CPU count
    train = load_shapes_split(DataRequest("train", IMAGE_SIZE, 3))
    test = load_shapes_split(DataRequest("test", IMAGE_SIZE, 3))
    clip = train_shapes_clip(train.images, train.captions)
    save_file({k: v.contiguous() for k, v in clip.model.state_dict().items()}, str(path))
    return caption_accuracy(clip, test.images, test.captions), sha256_file(path)


if __name__ == "__main__":
    accuracy, digest = build()
    print(f"caption_accuracy = {accuracy:.4f}\nsha256 = \"{digest}\"")
