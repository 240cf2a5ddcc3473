"""The text-conditional GAN training step DF-GAN and GALIP share: hinge losses with mismatched pairs and MA-GP.

Discriminator (Tao et al. 2022, eq. 1): ``L_D = E[max(0, 1 - D(x, e))] + ½ E[max(0, 1 + D(G(z), e))]
+ ½ E[max(0, 1 + D(x, ê))] + k E[(‖∇_x D(x, e)‖ + ‖∇_e D(x, e)‖)^p]`` with ê a caption of another
image (the batch's sentences rolled by one). As in the authors' code the two gradients are
concatenated and the L2 norm of the whole is raised to ``p``. Generator: ``L_G = -E[D(G(z), e)]``,
minus ``λ · cos(CLIP(G(z)), e)`` for GALIP.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F

from genbench.models.base import SampleBatch, TrainingData, TrainingReport
from genbench.models.kit import from_uint8, to_uint8
from genbench.models.training import BatchStep, adam, fit_steps
from genbench_models.textenc import ClipConditionedModel

#: Adam betas of the DF-GAN and GALIP code.
GAN_BETAS = (0.0, 0.9)


def pyramid_channels(width: int, blocks: int) -> list[int]:
    """DF-GAN's and GALIP's channel plan: ``width * min(2**i, 8)`` for ``i = 0..blocks``, widest first."""
    return [width * min(2 ** i, 8) for i in range(blocks + 1)][::-1]


def matching_aware_gradient_penalty(scores: torch.Tensor, inputs: tuple[torch.Tensor, torch.Tensor],
                                    k: float, p: float) -> torch.Tensor:
    """``k · mean(‖(∇_x D, ∇_e D)‖₂^p)`` over the batch, kept in the graph for the discriminator step."""
    grads = torch.autograd.grad(scores.sum(), inputs, create_graph=True)
    flat = torch.cat([g.flatten(1) for g in grads], dim=1)
    return k * flat.norm(dim=1).pow(p).mean()


@dataclass
class AdversarialParts:
    """What the shared step needs from a text-conditional GAN.

    ``observe`` maps images in [-1, 1] to what the discriminator's trained part sees (the image
    itself for DF-GAN, frozen CLIP-ViT features for GALIP) and a CLIP image embedding or None;
    ``judge`` scores those features against sentence vectors.
    """

    encode: Callable[[list[str]], torch.Tensor]
    generate: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    observe: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor | None]]
    judge: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    noise_dim: int
    gp_k: float = 2.0
    gp_p: float = 6.0
    clip_similarity_weight: float = 0.0


def adversarial_step(parts: AdversarialParts, optimizer_g: torch.optim.Optimizer,
                     optimizer_d: torch.optim.Optimizer) -> BatchStep:
    """One discriminator update then one generator update per batch; noise from the loop's seeded RNG."""

    def step(images: torch.Tensor, labels: torch.Tensor | None, captions: list[str] | None) -> dict[str, float]:
        sentences = parts.encode(captions)
        real, _ = parts.observe(from_uint8(images, -1.0, 1.0))
        real = real.detach().requires_grad_(True)
        sentences_gp = sentences.detach().requires_grad_(True)
        real_scores = parts.judge(real, sentences_gp)
        loss_real = F.relu(1.0 - real_scores).mean()
        loss_mismatched = F.relu(1.0 + parts.judge(real, sentences.roll(-1, dims=0))).mean()
        noise = torch.randn(len(images), parts.noise_dim, device=images.device)
        fake = parts.generate(noise, sentences)
        fake_seen, _ = parts.observe(fake.detach())
        loss_fake = F.relu(1.0 + parts.judge(fake_seen, sentences)).mean()
        penalty = matching_aware_gradient_penalty(real_scores, (real, sentences_gp), parts.gp_k, parts.gp_p)
        loss_d = loss_real + (loss_fake + loss_mismatched) / 2.0 + penalty
        optimizer_d.zero_grad(set_to_none=True)
        loss_d.backward()
        optimizer_d.step()

        fake_seen, fake_embedding = parts.observe(fake)
        loss_g = -parts.judge(fake_seen, sentences).mean()
        if parts.clip_similarity_weight:
            similarity = F.cosine_similarity(fake_embedding, sentences, dim=-1).mean()
            loss_g = loss_g - parts.clip_similarity_weight * similarity
        optimizer_g.zero_grad(set_to_none=True)
        loss_g.backward()
        optimizer_g.step()
        return {"loss_g": float(loss_g.detach()), "loss_d": float(loss_d.detach())}

    return step


class TextConditionalGAN(ClipConditionedModel):
    """A generator ``G(noise, sentence) -> image in [-1, 1]`` and a discriminator, trained by the shared step.

    Training: Adam(β = 0, 0.9) for G (recipe ``lr``, default 1e-4) and D (``lr_d``, default 4e-4)
    in ``genbench.models.training.fit_steps``. Sampling draws the noise from each image's own seed.
    """

    @abstractmethod
    def parts(self) -> AdversarialParts:
        """The text encoder, generator and discriminator as the shared step uses them."""

    def generate(self, noise: torch.Tensor, sentences: torch.Tensor) -> torch.Tensor:
        """Images in about [-1, 1] from noise and sentence vectors."""
        return self.networks["generator"](noise, sentences)

    def train(self, data: TrainingData, recipe: dict[str, Any], seed: int, device: torch.device,
              progress: bool = True) -> TrainingReport:
        self.to(device)
        optimizer_g = adam({"g": self.networks["generator"]}, float(recipe.get("lr", 1e-4)), betas=GAN_BETAS)
        optimizer_d = adam({"d": self.networks["discriminator"]}, float(recipe.get("lr_d", 4e-4)), betas=GAN_BETAS)
        step = adversarial_step(self.parts(), optimizer_g, optimizer_d)
        return fit_steps(self.networks, step, data, recipe, seed, device, progress, desc=f"training {self.plugin_name}")

    @torch.no_grad()
    def sample(self, batch: SampleBatch) -> torch.Tensor:
        sentences = self.text_encoder.sentences(self.captions_of(batch))
        noise = batch.randn(self.config["noise_dim"])
        return to_uint8(self.generate(noise, sentences), -1.0, 1.0)
