"""Latent diffusion for text-to-image as built in seed 004, and published diffusers LDM pipelines.

Trained here: a KL autoencoder (diffusers ``AutoencoderKL``; loaded from a diffusers directory
given as ``vae_path``, or trained by the plugin first) maps 128x128x3 images to 16x16x4 latents;
captions become final-layer token states of a frozen open_clip text tower (ViT-B/32, 512-d);
a ``UNet2DConditionModel`` with self- and cross-attention and sinusoidal noise-level
embeddings is trained from scratch. Default objective as in the seed: noise level u in [0, 1]
drawn from Beta(1, 2.7) (concentrated near 0), timestep u·(T-1), the network predicts the clean
latent and the loss is the mean absolute error; ``objective = "eps-mse"`` is the standard
uniform-timestep ε-prediction MSE. Captions are dropped (replaced by "") with probability
``condition_dropout`` so that classifier-free guidance works. Sampling: diffusers'
``DDIMScheduler`` (η = 0) with the ``steps`` and ``guidance`` settings.

``--checkpoint DIR`` with a diffusers ``LDMTextToImagePipeline`` directory (the
``CompVis/ldm-text2im-large-256`` layout: vqvae, bert, tokenizer, unet, scheduler) evaluates
published weights with the pipeline's own components.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from genbench.errors import PluginError, WeightsError
from genbench.models.base import GenerativeModel, ImageFormat, ModelSpec, SampleBatch, TrainingData, TrainingReport
from genbench.models.kit import from_uint8, to_uint8
from genbench.models.precision import PrecisionSetting
from genbench.models.training import fit
from genbench.registry.hookspecs import hookimpl
from genbench.storage.weights import refuse_pickled_weights
from genbench_models.textenc import CLIP_DEFAULTS, ClipConditionedModel, captions_of

OBJECTIVES = ("x0-mae", "eps-mse")
SETTINGS = {"steps": 50, "guidance": 1.5, "precision": "fp32"}
#: Tokens a diffusers LDMTextToImagePipeline keeps of a caption (its hard-coded max_length).
PIPELINE_TOKENS = 77


def autoencoder_config(config: dict[str, Any]) -> dict[str, Any]:
    """diffusers ``AutoencoderKL`` arguments for a plugin-trained autoencoder (one downsampling per extra level)."""
    levels = len(config["vae_channels"])
    return {"in_channels": config["channels"], "out_channels": config["channels"],
            "down_block_types": ["DownEncoderBlock2D"] * levels, "up_block_types": ["UpDecoderBlock2D"] * levels,
            "block_out_channels": list(config["vae_channels"]), "layers_per_block": config["vae_layers_per_block"],
            "latent_channels": config["latent_channels"], "norm_num_groups": config["norm_groups"],
            "sample_size": config["image_size"]}


def scheduler_config(config: dict[str, Any]) -> dict[str, Any]:
    """Stable Diffusion's DDIM schedule; the network predicts the clean latent (x0-mae) or the noise (eps-mse)."""
    return {"num_train_timesteps": 1000, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
            "beta_end": 0.012, "clip_sample": False, "set_alpha_to_one": False, "steps_offset": 1,
            "prediction_type": "sample" if config["objective"] == "x0-mae" else "epsilon"}


def network_evaluations(settings: dict[str, Any]) -> int:
    """U-Net passes per image: one per step, two with classifier-free guidance."""
    return int(settings["steps"]) * (1 if float(settings["guidance"]) == 1.0 else 2)


class LatentDiffusion(PrecisionSetting, ClipConditionedModel):
    """KL autoencoder + CLIP-conditioned U-Net trained by genbench; ``load`` also takes a diffusers pipeline dir."""

    plugin_name = "ldm"
    capabilities = frozenset({"steps", "guidance", "precision"})
    settings = dict(SETTINGS)

    def build_networks(self, config: dict[str, Any]) -> dict[str, nn.Module]:
        from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel

        if config["objective"] not in OBJECTIVES:
            raise PluginError(f"ldm objective must be one of {list(OBJECTIVES)}, got '{config['objective']}'")
        text = self.load_text_encoder(config)
        if "vae_config" in config:
            vae = AutoencoderKL.from_config(config["vae_config"])
        elif config.get("vae_path"):
            vae = load_pretrained_autoencoder(Path(config["vae_path"]))
            config["latent_scale"] = float(vae.config.scaling_factor)
        else:
            vae = AutoencoderKL(**autoencoder_config(config))
        config["vae_config"] = {k: v for k, v in dict(vae.config).items() if not k.startswith("_")}
        config.setdefault("latent_scale", None)
        config.setdefault("scheduler", scheduler_config(config))
        self.scheduler = DDIMScheduler.from_config(config["scheduler"])
        vae.requires_grad_(False)
        levels = len(config["unet_channels"])
        latent_size = self.latent_size(vae, config["image_size"])
        if latent_size % 2 ** (levels - 1):
            raise PluginError(f"ldm U-Net with {levels} levels needs latents whose side is a multiple of "
                              f"{2 ** (levels - 1)}; {config['image_size']} px images give {latent_size}")
        unet = UNet2DConditionModel(
            sample_size=latent_size, in_channels=vae.config.latent_channels,
            out_channels=vae.config.latent_channels, block_out_channels=tuple(config["unet_channels"]),
            down_block_types=("CrossAttnDownBlock2D",) * (levels - 1) + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * (levels - 1),
            layers_per_block=config["unet_layers_per_block"], attention_head_dim=config["attention_head_dim"],
            cross_attention_dim=text.token_dim, norm_num_groups=config["norm_groups"])
        return {"vae": vae, "unet": unet}

    @staticmethod
    def latent_size(vae: nn.Module, image_size: int) -> int:
        factor = 2 ** (len(vae.config.block_out_channels) - 1)
        if image_size % factor:
            raise PluginError(f"ldm autoencoder downsamples by {factor}; image size {image_size} is not a multiple")
        return image_size // factor

    @property
    def network_evaluations(self) -> int:
        return network_evaluations(self.setting_values)

    @classmethod
    def load(cls, path: Path, device: torch.device) -> GenerativeModel:
        """A genbench checkpoint, or a diffusers ``LDMTextToImagePipeline`` directory."""
        if Path(path).is_dir():
            return PretrainedLatentDiffusion.from_directory(Path(path), device)
        return super().load(path, device)

    def train(self, data: TrainingData, recipe: dict[str, Any], seed: int, device: torch.device,
              progress: bool = True) -> TrainingReport:
        """Train the autoencoder first unless it was loaded pretrained, then the U-Net on its latents."""
        self.to(device)
        vae = self.networks["vae"]
        reports = []
        if self.config["latent_scale"] is None:
            vae_recipe = {**{k: recipe[k] for k in ("batch_size", "max_steps") if k in recipe},
                          "epochs": self.config["vae_epochs"], "lr": self.config["vae_lr"]}
            vae.requires_grad_(True)
            reports.append(fit({"vae": vae}, self.autoencoder_loss, data, vae_recipe, seed, device, progress,
                               desc="training ldm autoencoder"))
            vae.requires_grad_(False)
            self.config["latent_scale"] = self.measure_latent_scale(data.images)
        reports.append(fit({"unet": self.networks["unet"]}, self.loss, data, recipe, seed, device, progress,
                           desc="training ldm"))
        last = reports[-1]
        return TrainingReport(epochs=last.epochs, steps=sum(r.steps for r in reports),
                              seconds=sum(r.seconds for r in reports), seconds_per_epoch=last.seconds_per_epoch,
                              final_loss=last.final_loss,
                              recipe={**last.recipe, **({"autoencoder": reports[0].recipe} if len(reports) > 1 else {})})

    def autoencoder_loss(self, images: torch.Tensor, labels, captions) -> torch.Tensor:
        """Reconstruction MSE + a small KL term (``vae_kl_weight``), as for the KL-f8 autoencoders."""
        x = from_uint8(images, -1.0, 1.0)
        posterior = self.networks["vae"].encode(x).latent_dist
        recon = self.networks["vae"].decode(posterior.sample()).sample
        return F.mse_loss(recon, x) + self.config["vae_kl_weight"] * posterior.kl().mean()

    @torch.no_grad()
    def measure_latent_scale(self, images: torch.Tensor, limit: int = 256) -> float:
        """1 / std of the latents of (up to ``limit``) training images, so the U-Net sees unit-variance latents."""
        x = from_uint8(images[:limit].to(self.device), -1.0, 1.0)
        latents = self.networks["vae"].encode(x).latent_dist.mode()
        return float(1.0 / latents.double().std().clamp_min(1e-8))

    def loss(self, images: torch.Tensor, labels: torch.Tensor | None, captions: list[str] | None) -> torch.Tensor:
        if captions is None:
            raise PluginError("ldm trains on captioned images; the training data has no captions")
        with torch.no_grad():
            x = from_uint8(images, -1.0, 1.0)
            latents = self.networks["vae"].encode(x).latent_dist.sample() * self.config["latent_scale"]
        keep = torch.rand(len(captions)) >= self.config["condition_dropout"]
        states = self.text_encoder.token_states([c if k else "" for c, k in zip(captions, keep.tolist())])
        noise = torch.randn_like(latents)
        steps = self.scheduler.config.num_train_timesteps
        if self.config["objective"] == "x0-mae":
            a, b = self.config["noise_level_beta"]
            levels = torch.distributions.Beta(float(a), float(b)).sample((len(images),))
            timesteps = (levels * (steps - 1)).round().long().to(latents.device)
            target, distance = latents, F.l1_loss
        else:
            timesteps = torch.randint(0, steps, (len(images),)).to(latents.device)
            target, distance = noise, F.mse_loss
        noisy = self.scheduler.add_noise(latents, noise, timesteps)
        prediction = self.networks["unet"](noisy, timesteps, encoder_hidden_states=states).sample
        return distance(prediction, target)

    @torch.no_grad()
    def sample(self, batch: SampleBatch) -> torch.Tensor:
        from diffusers import DDIMScheduler

        captions = self.captions_of(batch)
        if self.config["latent_scale"] is None:
            raise PluginError("ldm's autoencoder is untrained, so its latent scale is unknown: train the model first")
        vae, unet = self.networks["vae"], self.networks["unet"]
        guidance = float(self.setting_values["guidance"])
        scheduler = DDIMScheduler.from_config(self.scheduler.config)
        scheduler.set_timesteps(int(self.setting_values["steps"]), device=self.device)
        size = unet.config.sample_size
        latents = batch.randn(unet.config.in_channels, size, size) * scheduler.init_noise_sigma
        context = self.text_encoder.token_states(captions)
        if guidance != 1.0:
            context = torch.cat([self.text_encoder.token_states([""] * len(captions)), context])
        for t in scheduler.timesteps:
            model_input = torch.cat([latents] * 2) if guidance != 1.0 else latents
            prediction = unet(model_input, t, encoder_hidden_states=context).sample
            if guidance != 1.0:
                unconditional, conditional = prediction.chunk(2)
                prediction = unconditional + guidance * (conditional - unconditional)
            latents = scheduler.step(prediction, t, latents, eta=0.0).prev_sample
        images = vae.decode(latents / self.config["latent_scale"]).sample
        return to_uint8(images, -1.0, 1.0)


def load_pretrained_autoencoder(path: Path) -> nn.Module:
    """A diffusers ``AutoencoderKL`` directory (safetensors weights only)."""
    from diffusers import AutoencoderKL

    if Path(path).is_dir():
        refuse_pickled_weights(Path(path))
    try:
        return AutoencoderKL.from_pretrained(str(path), use_safetensors=True)
    except (OSError, ValueError, EnvironmentError) as exc:
        raise WeightsError(f"{path} is not a diffusers AutoencoderKL directory with safetensors weights: "
                           f"{str(exc).strip().splitlines()[0]}") from None


class PretrainedLatentDiffusion(PrecisionSetting, GenerativeModel):
    """A diffusers ``LDMTextToImagePipeline`` (e.g. ``CompVis/ldm-text2im-large-256``) run with its own components.

    Its text encoder is the pipeline's LDM-BERT, its sampler the pipeline's scheduler (η = 0);
    genbench supplies only the initial latents, drawn from each image's seed.
    """

    task = LatentDiffusion.task
    capabilities = frozenset({"steps", "guidance", "precision"})
    settings = dict(SETTINGS)

    def __init__(self, pipeline: Any, source: Path):
        super().__init__()
        self.pipeline, self.source = pipeline, source
        self.config = {"pipeline": str(source), "class": type(pipeline).__name__}
        pipeline.set_progress_bar_config(disable=True)

    @classmethod
    def from_directory(cls, path: Path, device: torch.device) -> "PretrainedLatentDiffusion":
        from diffusers import LDMTextToImagePipeline

        if not (path / "model_index.json").is_file():
            raise WeightsError(f"{path} is not a diffusers pipeline directory (no model_index.json)")
        refuse_pickled_weights(path)
        try:
            pipeline = LDMTextToImagePipeline.from_pretrained(str(path), use_safetensors=True)
        except (OSError, ValueError, EnvironmentError) as exc:
            raise WeightsError(f"{path} could not be loaded as an LDMTextToImagePipeline with safetensors weights: "
                               f"{str(exc).strip().splitlines()[0]}") from None
        return cls(pipeline.to(device), path)

    @classmethod
    def create(cls, image_format: ImageFormat, config: dict[str, Any], num_classes: int | None = None):
        raise PluginError("a diffusers LDM pipeline is loaded with --checkpoint DIR, not created")

    @classmethod
    def load(cls, path: Path, device: torch.device) -> "PretrainedLatentDiffusion":
        return cls.from_directory(Path(path), device)

    def save(self, path: Path) -> None:
        self.pipeline.save_pretrained(str(path), safe_serialization=True)

    def train(self, data, recipe, seed, device, progress=True) -> TrainingReport:
        raise PluginError("a pretrained diffusers LDM pipeline is evaluated as it is; genbench does not train it")

    @property
    def image_format(self) -> ImageFormat:
        return ImageFormat(self.pipeline.unet.config.sample_size * self.pipeline.vae_scale_factor, 3)

    @property
    def network_evaluations(self) -> int:
        return network_evaluations(self.setting_values)

    def modules(self) -> dict[str, nn.Module]:
        return {"vqvae": self.pipeline.vqvae, "bert": self.pipeline.bert, "unet": self.pipeline.unet}

    def truncated_captions(self, captions: list[str]) -> int:
        # the pipeline tokenizes with max_length=77, truncation=True ([CLS] and [SEP] included)
        return sum(len(ids) > PIPELINE_TOKENS for ids in self.pipeline.tokenizer(list(captions)).input_ids)

    def to(self, device: torch.device) -> "PretrainedLatentDiffusion":
        self.pipeline.to(device)
        return self

    @torch.no_grad()
    def sample(self, batch: SampleBatch) -> torch.Tensor:
        captions = captions_of(batch, "ldm")
        unet = self.pipeline.unet
        size = unet.config.sample_size
        latents = batch.randn(unet.config.in_channels, size, size)
        # diffusers' LDMTextToImagePipeline makes latents of height // 8 whatever its autoencoder's factor is, so
        # height = 8 x the U-Net's latent size gives the latents it was trained on, and images of image_format's size
        images = self.pipeline(captions, height=8 * size, width=8 * size,
                               num_inference_steps=int(self.setting_values["steps"]),
                               guidance_scale=float(self.setting_values["guidance"]), eta=0.0, latents=latents,
                               output_type="pt").images
        return to_uint8(images)


LDM_SPEC = ModelSpec(
    name="ldm",
    model_class=LatentDiffusion,
    description="latent diffusion (seed 004): KL autoencoder 128->16x16x4, frozen CLIP ViT-B/32 text, "
                "cross-attention U-Net, DDIM + classifier-free guidance; also loads diffusers LDM pipelines",
    default_config={**CLIP_DEFAULTS, "vae_path": "", "vae_channels": [64, 128, 256, 256], "vae_layers_per_block": 1,
                    "latent_channels": 4, "vae_epochs": 10, "vae_lr": 1e-3, "vae_kl_weight": 1e-6,
                    "unet_channels": [128, 256, 256], "unet_layers_per_block": 1, "attention_head_dim": 8,
                    "norm_groups": 32, "objective": "x0-mae", "noise_level_beta": [1.0, 2.7],
                    "condition_dropout": 0.1},
    tiny_config={"vae_path": "", "vae_channels": [8, 16, 16], "vae_layers_per_block": 1, "latent_channels": 4,
                 "vae_epochs": 1, "vae_lr": 1e-3, "vae_kl_weight": 1e-6, "unet_channels": [16, 32],
                 "unet_layers_per_block": 1, "attention_head_dim": 4, "norm_groups": 8, "objective": "x0-mae",
                 "noise_level_beta": [1.0, 2.7], "condition_dropout": 0.1},
)


@hookimpl
def genbench_models():
    return [LDM_SPEC]
