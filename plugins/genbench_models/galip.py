"""GALIP (Tao et al. 2023): generative adversarial CLIPs, as summarised in seed 004.

Both networks lean on one frozen CLIP model (ViT-B/32 by default): its text tower gives the
sentence vector T; its image tower gives the discriminator's features and hosts the generator's
prompts. Discriminator = frozen CLIP-ViT features of layers 2, 5, 9 -> Mate-D (residual blocks
that fold the three feature maps together) -> quality assessor (T tiled and joined, two
convolutions to a score). Generator = Bridge-FP (FC from noise to a grid x grid x 64 map, 4
fusion blocks of DFBlocks on noise + T, a 5x5 conv to CLIP width) -> the frozen CLIP-ViT's
blocks with 8 predicted prompts appended to blocks 2-9 -> 5x5 conv -> 6 G-blocks (DFBlocks)
up to the image size. Losses: the shared hinge + MA-GP (k = 2, p = 6) step, plus -λ·cos(CLIP
image embedding of G(z), T) with λ = 4 for the generator; Adam lr G 1e-4, D 4e-4.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from genbench.errors import PluginError
from genbench.models.base import ModelSpec
from genbench.registry.hookspecs import hookimpl
from genbench_models.dfblock import FusedConvBlock
from genbench_models.gan import AdversarialParts, TextConditionalGAN, pyramid_channels
from genbench_models.textenc import CLIP_DEFAULTS


def vit_grid(visual: nn.Module) -> int:
    """Side of the CLIP-ViT's patch grid (7 for ViT-B/32 at 224 px)."""
    return int(visual.grid_size[0])


class PromptedClipViT(nn.Module):
    """Runs a frozen CLIP-ViT's blocks on a feature map, appending one predicted prompt token to each chosen block."""

    def __init__(self, visual: nn.Module, prompt_blocks: list[int]):
        super().__init__()
        self.visual, self.prompt_blocks = visual, list(prompt_blocks)

    def forward(self, features: torch.Tensor, prompts: torch.Tensor) -> torch.Tensor:
        visual = self.visual
        n, width, grid, _ = features.shape
        x = features.flatten(2).transpose(1, 2)
        x = torch.cat([visual.class_embedding.to(x.dtype).expand(n, 1, width), x], dim=1)
        x = visual.ln_pre(x + visual.positional_embedding.to(x.dtype))
        batch_first = getattr(visual.transformer, "batch_first", True)
        for index, block in enumerate(visual.transformer.resblocks):
            if index in self.prompt_blocks:
                prompt = prompts[:, self.prompt_blocks.index(index)].unsqueeze(1)
                x = torch.cat([x, prompt], dim=1)
            x = block(x) if batch_first else block(x.transpose(0, 1)).transpose(0, 1)
            if index in self.prompt_blocks:
                x = x[:, :-1]
        return x[:, 1:].transpose(1, 2).reshape(n, width, grid, grid)


class Generator(nn.Module):
    """Bridge-FP -> prompted CLIP-ViT -> G-blocks; output image in about [-1, 1]."""

    def __init__(self, visual: nn.Module, config: dict[str, Any], cond_dim: int):
        super().__init__()
        noise_dim, code = config["noise_dim"], config["code_channels"]
        self.grid, self.code = vit_grid(visual), code
        width = int(visual.class_embedding.shape[-1])
        self.fc_code = nn.Linear(noise_dim, self.grid * self.grid * code)
        self.bridge = nn.ModuleList(FusedConvBlock(noise_dim + cond_dim, code, code, fuse_first=False,
                                                   mid_ch=config["bridge_mid_channels"])
                                    for _ in range(config["bridge_blocks"]))
        self.conv_fuse = nn.Conv2d(code, width, 5, 1, 2)
        self.prompt_count = len(config["prompt_blocks"])
        self.fc_prompt = nn.Linear(noise_dim + cond_dim, width * self.prompt_count)
        blocks = config["g_blocks"]
        chans = pyramid_channels(config["width_g"], blocks)
        self.conv_mapped = nn.Conv2d(width, chans[0], 5, 1, 2)
        size = config["image_size"]
        sizes = [round(self.grid * (size / self.grid) ** ((i + 1) / blocks)) for i in range(blocks)]
        self.blocks = nn.ModuleList(FusedConvBlock(noise_dim + cond_dim, chans[i], chans[i + 1], size=sizes[i])
                                    for i in range(blocks))
        self.to_rgb = nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(chans[-1], config["channels"], 3, 1, 1))

    def forward(self, noise: torch.Tensor, sentences: torch.Tensor, clip_vit: PromptedClipViT) -> torch.Tensor:
        """``clip_vit`` is passed in, not held: the frozen CLIP is neither trained nor saved with G."""
        cond = torch.cat([noise, sentences], dim=1)
        h = self.fc_code(noise).view(len(noise), self.code, self.grid, self.grid)
        for block in self.bridge:
            h = block(h, cond)
        fused = self.conv_fuse(h)
        prompts = self.fc_prompt(cond).view(len(noise), self.prompt_count, -1)
        h = self.conv_mapped(fused + 0.1 * clip_vit(fused, prompts))
        for block in self.blocks:
            h = block(h, cond)
        return self.to_rgb(h)


class MateBlock(nn.Module):
    """GALIP's residual D-block: ``x + γ·convs(x) (+ β·next CLIP feature map)``, γ and β starting at 0."""

    def __init__(self, in_ch: int, out_ch: int, takes_clip_feature: bool):
        super().__init__()
        self.residual = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 3, 1, 1, bias=False), nn.LeakyReLU(0.2),
            nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False), nn.LeakyReLU(0.2))
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()
        self.gamma = nn.Parameter(torch.zeros(1))
        self.beta = nn.Parameter(torch.zeros(1)) if takes_clip_feature else None

    def forward(self, x: torch.Tensor, clip_feature: torch.Tensor | None = None) -> torch.Tensor:
        out = self.shortcut(x) + self.gamma * self.residual(x)
        return out + self.beta * clip_feature if self.beta is not None else out


class Discriminator(nn.Module):
    """Mate-D over stacked CLIP feature maps ``[N, layers, width, grid, grid]`` plus the quality assessor."""

    def __init__(self, clip_width: int, grid: int, layers: int, width_d: int, cond_dim: int):
        super().__init__()
        if grid < 4:
            raise PluginError(f"galip needs a CLIP-ViT patch grid of at least 4x4, got {grid}x{grid}")
        self.mate = nn.ModuleList(MateBlock(clip_width, clip_width, True) for _ in range(layers - 1))
        self.main = MateBlock(clip_width, width_d, False)
        self.assessor = nn.Sequential(
            nn.Conv2d(width_d + cond_dim, 128, grid - 3, 1, 0, bias=False), nn.LeakyReLU(0.2),
            nn.Conv2d(128, 1, 4, 1, 0, bias=False))

    def forward(self, features: torch.Tensor, sentences: torch.Tensor) -> torch.Tensor:
        h = features[:, 0]
        for index, block in enumerate(self.mate):
            h = block(h, features[:, index + 1])
        h = self.main(h)
        tiled = sentences[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        return self.assessor(torch.cat([h, tiled], dim=1)).flatten()


class GALIP(TextConditionalGAN):
    """GALIP's CLIP-empowered generator and CLIP-based discriminator around one frozen CLIP model."""

    plugin_name = "galip"
    uses_clip_vision = True

    def build_networks(self, config: dict[str, Any]) -> dict[str, nn.Module]:
        text = self.load_text_encoder(config)
        visual = self.clip.model.visual
        layers = len(visual.transformer.resblocks)
        chosen = [*config["feature_layers"], *config["prompt_blocks"]]
        if any(not 0 <= i < layers for i in chosen):
            raise PluginError(f"galip feature_layers/prompt_blocks {chosen} must index the CLIP-ViT's {layers} blocks")
        width = int(visual.class_embedding.shape[-1])
        self.prompted_vit = PromptedClipViT(visual, config["prompt_blocks"])
        return {
            "generator": Generator(visual, config, text.sentence_dim),
            "discriminator": Discriminator(width, vit_grid(visual), len(config["feature_layers"]),
                                           config["width_d"], text.sentence_dim),
        }

    def generate(self, noise: torch.Tensor, sentences: torch.Tensor) -> torch.Tensor:
        return self.networks["generator"](noise, sentences, self.prompted_vit)

    def observe(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Frozen CLIP-ViT features of the chosen layers (stacked) and the image embedding, for images in [-1, 1]."""
        pixels = self.clip.preprocess_tensor((images + 1.0) * 127.5)
        out = self.clip.model.visual.forward_intermediates(pixels, indices=self.config["feature_layers"])
        return torch.stack(out["image_intermediates"], dim=1), out["image_features"]

    def parts(self) -> AdversarialParts:
        return AdversarialParts(
            encode=self.text_encoder.sentences,
            generate=self.generate,
            observe=self.observe,
            judge=self.networks["discriminator"],
            noise_dim=self.config["noise_dim"],
            gp_k=self.config["gp_k"], gp_p=self.config["gp_p"],
            clip_similarity_weight=self.config["clip_similarity_weight"],
        )


GALIP_SPEC = ModelSpec(
    name="galip",
    model_class=GALIP,
    description="GALIP (Tao et al. 2023): CLIP-based discriminator and CLIP-empowered generator, frozen ViT-B/32",
    default_config={**CLIP_DEFAULTS, "noise_dim": 100, "width_g": 64, "width_d": 512, "code_channels": 64,
                    "bridge_mid_channels": 32, "bridge_blocks": 4, "prompt_blocks": [1, 2, 3, 4, 5, 6, 7, 8],
                    "feature_layers": [1, 4, 8], "g_blocks": 6, "gp_k": 2.0, "gp_p": 6.0,
                    "clip_similarity_weight": 4.0},
    tiny_config={"noise_dim": 8, "width_g": 4, "width_d": 8, "code_channels": 8, "bridge_mid_channels": 4,
                 "bridge_blocks": 1, "prompt_blocks": [0, 1], "feature_layers": [0, 1, 2], "g_blocks": 2,
                 "gp_k": 2.0, "gp_p": 6.0, "clip_similarity_weight": 4.0},
)


@hookimpl
def genbench_models():
    return [GALIP_SPEC]
