"""The one training loop every built-in plugin shares: seeded data order, Adam, optional EMA, progress bar.

A plugin supplies only its loss on a batch; the loop owns order, optimisation, timing and
the report, so the VAE and the diffusion models train in exactly the same shape.
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any, Callable

import torch
from tqdm.auto import tqdm

from genbench.errors import ProtocolError, did_you_mean
from genbench.models.base import TrainingData, TrainingReport

#: ``loss(images_uint8, labels_or_None, captions_or_None) -> scalar loss``
BatchLoss = Callable[[torch.Tensor, "torch.Tensor | None", "list[str] | None"], torch.Tensor]
#: ``step(images_uint8, labels_or_None, captions_or_None) -> {name: loss}``: updates its own optimisers
#: (a GAN's discriminator and generator steps); the first entry is the reported loss.
BatchStep = Callable[[torch.Tensor, "torch.Tensor | None", "list[str] | None"], dict[str, float]]

#: The keys a training recipe may hold (a protocol's ``[training.NAME]`` table, a plugin's ``default_recipe``):
#: key -> (TOML type, meaning, whether it must be a positive integer). Absent keys: the loop's own default.
RECIPE_KEYS: dict[str, tuple[type, str, bool]] = {
    "epochs": (int, "passes over the training split", True),
    "batch_size": (int, "images per training step", True),
    "lr": (float, "learning rate (of the generator, for GANs)", False),
    "lr_d": (float, "discriminator learning rate (GANs)", False),
    "ema": (float, "decay of an exponential moving average of the weights; absent: no EMA", False),
    "max_steps": (int, "stop after this many steps (smoke runs)", True),
    "weight_decay": (float, "L2 weight decay of Adam", False),
    "config": (dict, "plugin config (network widths, schedule) over the plugin's default_config", False),
}


def bar_disabled(progress: bool) -> bool | None:
    """tqdm's ``disable``: off when progress is off; otherwise None, which hides bars outside a terminal
    (log files and CI get the status lines, not thousands of carriage returns)."""
    return None if progress else True


def check_recipe(recipe: dict[str, Any], origin: str = "training recipe") -> None:
    """Reject unknown recipe keys and non-positive sizes before any work; ``origin`` names the recipe's source."""
    for key, value in recipe.items():
        if key not in RECIPE_KEYS:
            raise ProtocolError(f"{origin}: unknown key '{key}'; {did_you_mean(key, RECIPE_KEYS)}")
        positive = RECIPE_KEYS[key][2]
        if positive and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
            raise ProtocolError(f"{origin}: '{key}' must be a positive integer, got {value!r}")


def adam(modules: dict[str, torch.nn.Module], lr: float, weight_decay: float = 0.0,
         betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Adam:
    """Adam over the parameters of ``modules`` that require grad."""
    params = [p for m in modules.values() for p in m.parameters() if p.requires_grad]
    return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=weight_decay)


def fit(modules: dict[str, torch.nn.Module], loss_fn: BatchLoss, data: TrainingData, recipe: dict[str, Any],
        seed: int, device: torch.device, progress: bool = True, desc: str = "training") -> TrainingReport:
    """Train the parameters of ``modules`` that require grad on ``data`` with ``loss_fn`` and one Adam.

    With ``recipe['ema']`` (a decay such as 0.999) the final weights are the exponential
    moving average; ``max_steps`` stops early (tests, smoke runs).
    """
    check_recipe(recipe)
    optimizer = adam(modules, float(recipe.get("lr", 1e-3)), float(recipe.get("weight_decay", 0.0)))

    def step(images: torch.Tensor, labels: torch.Tensor | None, captions: list[str] | None) -> dict[str, float]:
        loss = loss_fn(images, labels, captions)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": float(loss.detach())}

    return fit_steps(modules, step, data, recipe, seed, device, progress, desc)


def fit_steps(modules: dict[str, torch.nn.Module], step_fn: BatchStep, data: TrainingData, recipe: dict[str, Any],
              seed: int, device: torch.device, progress: bool = True, desc: str = "training") -> TrainingReport:
    """The loop itself: seeded batch order, ``step_fn`` per batch, optional EMA of ``modules``, progress bar.

    ``fit`` passes a one-optimiser step; models with several optimisers (GANs) pass their own.
    """
    check_recipe(recipe)
    epochs = int(recipe.get("epochs", 1))
    batch_size = int(recipe.get("batch_size", 64))
    max_steps = recipe.get("max_steps")
    ema_decay = float(recipe.get("ema", 0.0))
    ema = {name: copy.deepcopy(m).requires_grad_(False) for name, m in modules.items()} if ema_decay else {}

    torch.manual_seed(seed)
    order = torch.Generator().manual_seed(seed)
    steps_per_epoch = math.ceil(len(data.images) / batch_size)
    total = epochs * steps_per_epoch if max_steps is None else min(int(max_steps), epochs * steps_per_epoch)
    for module in modules.values():
        module.to(device).train()
    start = time.perf_counter()
    step, loss_value = 0, float("nan")
    bar = tqdm(total=total, desc=desc, unit="step", disable=bar_disabled(progress), leave=False)
    epochs_done = 0
    while step < total:
        for index in torch.randperm(len(data.images), generator=order).split(batch_size):
            images = data.images[index].to(device)
            labels = data.labels[index].to(device) if data.labels is not None else None
            captions = [data.captions[i] for i in index.tolist()] if data.captions is not None else None
            losses = step_fn(images, labels, captions)
            if ema:
                _ema_update(ema, modules, ema_decay)
            step += 1
            loss_value = float(next(iter(losses.values())))
            bar.update(1)
            bar.set_postfix({**{k: f"{v:.4f}" for k, v in losses.items()}, "epoch": epochs_done + 1})
            if step >= total:
                break
        epochs_done += 1
    bar.close()
    seconds = time.perf_counter() - start
    if ema:
        for name, module in modules.items():
            module.load_state_dict(ema[name].state_dict())
    for module in modules.values():
        module.eval()
    return TrainingReport(epochs=epochs_done, steps=step, seconds=seconds,
                          seconds_per_epoch=seconds / max(epochs_done, 1), final_loss=loss_value,
                          recipe=dict(recipe))


@torch.no_grad()
def _ema_update(ema: dict[str, torch.nn.Module], modules: dict[str, torch.nn.Module], decay: float) -> None:
    for name, module in modules.items():
        for shadow, live in zip(ema[name].parameters(), module.parameters()):
            shadow.lerp_(live.detach(), 1.0 - decay)
        for shadow, live in zip(ema[name].buffers(), module.buffers()):
            shadow.copy_(live)
