"""Tiny diffusers pipelines with random weights, built and saved by the tests themselves (nothing is downloaded):
a Stable Diffusion pipeline with a hand-made CLIP tokenizer vocabulary (also at Stable Diffusion 1.5's sizes, for
``bench/gpu_check.py``), a class-conditional DiT and a grey DDPM."""

from __future__ import annotations

import json
import shutil
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

#: The commit a hub id resolves to in the fake Hugging Face cache.
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def clip_tokenizer(directory: Path):
    """A CLIPTokenizer over single letters: its vocabulary and (empty) merges written here, 77 tokens of context."""
    from transformers import CLIPTokenizer

    directory.mkdir(parents=True, exist_ok=True)
    letters = string.ascii_lowercase
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, **{c: 2 + i for i, c in enumerate(letters)},
             **{c + "</w>": 2 + len(letters) + i for i, c in enumerate(letters)}}
    (directory / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (directory / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    return CLIPTokenizer(str(directory / "vocab.json"), str(directory / "merges.txt"), model_max_length=77)


@dataclass(frozen=True)
class Shape:
    """The sizes of a Stable Diffusion pipeline's networks."""

    unet_channels: tuple[int, ...]
    unet_layers: int
    head_dim: int
    vae_channels: tuple[int, ...]
    vae_layers: int
    groups: int
    text_width: int
    text_layers: int
    image_size: int


#: Seconds on a CPU: 16x16x4 latents, 32x32 images.
TINY = Shape((8, 16), 1, 4, (8, 16), 1, 4, 16, 2, 32)
#: Stable Diffusion 1.5's networks: 860 M U-Net, 84 M autoencoder, a 12-layer 768-wide text encoder (85 M with the
#: hand-made vocabulary), 512x512 images; 1.03 B parameters.
SD15 = Shape((320, 640, 1280, 1280), 2, 8, (128, 256, 512, 512), 2, 32, 768, 12, 512)


def stable_diffusion(path: Path, safe_serialization: bool = True, shape: Shape = TINY,
                     safety_checker: bool = False) -> Path:
    """A StableDiffusionPipeline of ``shape`` with random weights (cross-attention in every level but the last, a
    KL autoencoder, a CLIP text model) and PNDM as published Stable Diffusion has it; a tiny safety checker and its
    image processor when asked for."""
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    tokenizer = clip_tokenizer(path.parent / f"{path.name}-vocabulary")
    text = CLIPTextModel(CLIPTextConfig(vocab_size=len(tokenizer), hidden_size=shape.text_width,
                                        intermediate_size=4 * shape.text_width, num_hidden_layers=shape.text_layers,
                                        num_attention_heads=max(2, shape.text_width // 64), max_position_embeddings=77,
                                        bos_token_id=0, eos_token_id=1, pad_token_id=1))
    levels, scale = len(shape.unet_channels), 2 ** (len(shape.vae_channels) - 1)
    unet = UNet2DConditionModel(sample_size=shape.image_size // scale, in_channels=4, out_channels=4,
                                block_out_channels=shape.unet_channels, layers_per_block=shape.unet_layers,
                                down_block_types=("CrossAttnDownBlock2D",) * (levels - 1) + ("DownBlock2D",),
                                up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * (levels - 1),
                                cross_attention_dim=shape.text_width, attention_head_dim=shape.head_dim,
                                norm_num_groups=shape.groups)
    vae = AutoencoderKL(in_channels=3, out_channels=3, block_out_channels=shape.vae_channels, latent_channels=4,
                        down_block_types=("DownEncoderBlock2D",) * len(shape.vae_channels),
                        up_block_types=("UpDecoderBlock2D",) * len(shape.vae_channels),
                        layers_per_block=shape.vae_layers, norm_num_groups=shape.groups, sample_size=shape.image_size)
    scheduler = PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", skip_prk_steps=True,
                              steps_offset=1)
    checker, processor = tiny_safety_checker() if safety_checker else (None, None)
    StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
                            safety_checker=checker, feature_extractor=processor, requires_safety_checker=safety_checker,
                            ).save_pretrained(path, safe_serialization=safe_serialization)
    return path


def tiny_safety_checker() -> tuple:
    """Stable Diffusion's safety checker on a one-layer CLIP vision tower, and its image processor."""
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig, CLIPImageProcessor

    config = CLIPConfig(text_config={"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
                                     "num_attention_heads": 2},
                        vision_config={"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
                                       "num_attention_heads": 2, "image_size": 32, "patch_size": 8},
                        projection_dim=8)
    return StableDiffusionSafetyChecker(config), CLIPImageProcessor(size={"shortest_edge": 32},
                                                                    crop_size={"height": 32, "width": 32})


def dit(path: Path) -> Path:
    """A DiTPipeline: a 1-block DiT on 8x8x4 latents with 1 000 class embeddings (the pipeline's null class is
    1 000), a KL autoencoder that quadruples them to 32x32 RGB, DPM-Solver++ as published DiT has it."""
    from diffusers import AutoencoderKL, DiTPipeline, DiTTransformer2DModel, DPMSolverMultistepScheduler

    torch.manual_seed(0)
    transformer = DiTTransformer2DModel(num_attention_heads=2, attention_head_dim=8, in_channels=4, out_channels=8,
                                        num_layers=1, sample_size=8, patch_size=2, num_embeds_ada_norm=1000)
    vae = AutoencoderKL(in_channels=3, out_channels=3, block_out_channels=(8, 16, 16), latent_channels=4,
                        down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
                        norm_num_groups=4, sample_size=32)
    DiTPipeline(transformer=transformer, vae=vae, scheduler=DPMSolverMultistepScheduler()).save_pretrained(path)
    return path


def ddpm(path: Path) -> Path:
    """A DDPMPipeline making 16x16 grey images on a 10-step linear schedule."""
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

    torch.manual_seed(0)
    unet = UNet2DModel(sample_size=16, in_channels=1, out_channels=1, block_out_channels=(8, 16),
                       down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
                       layers_per_block=1, norm_num_groups=4)
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler(num_train_timesteps=10)).save_pretrained(path)
    return path


def cached_as_hub_id(folder: Path, cache: Path, repo: str) -> None:
    """Put ``folder`` in a Hugging Face cache at ``cache`` as what ``repo``'s main branch resolves to (``COMMIT``)."""
    root = cache / f"models--{repo.replace('/', '--')}"
    shutil.copytree(folder, root / "snapshots" / COMMIT)
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(COMMIT, encoding="utf-8")


def generators(seeds: list[int]) -> list[torch.Generator]:
    return [torch.Generator("cpu").manual_seed(seed) for seed in seeds]


def as_uint8(images: list) -> torch.Tensor:
    """A pipeline's PIL images (``output_type="pil"``, what a user saves) as uint8 ``[N, C, H, W]``."""
    arrays = [np.asarray(image) for image in images]
    return torch.from_numpy(np.stack([a if a.ndim == 3 else a[..., None] for a in arrays])).permute(0, 3, 1, 2)
