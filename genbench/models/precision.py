"""Sampling precision (``--set precision=fp16|bf16|fp32``) for plugins whose networks allow it.

A plugin opts in with ``PrecisionSetting`` (the ``precision`` capability and setting, default
``fp32``); the runner then calls its ``sample`` under ``torch.autocast`` with that dtype. Feature
extractors run outside it, in float32, so metrics move only by what the samples themselves change.
The setting is recorded with the plugin's other settings (and so enters the run key).
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any, ContextManager

import torch

from genbench.errors import PluginError

PRECISIONS: dict[str, torch.dtype | None] = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}


class PrecisionSetting:
    """Mixin for a ``GenerativeModel`` whose networks may sample in reduced precision (listed before the base)."""

    @classmethod
    def check_settings(cls, values: dict[str, Any], config: dict[str, Any] | None = None) -> None:
        super().check_settings(values, config)  # type: ignore[misc]
        if values.get("precision", "fp32") not in PRECISIONS:
            raise PluginError(f"setting 'precision' must be one of {', '.join(PRECISIONS)}, "
                              f"got '{values['precision']}'")


def sampling_precision(model: Any, device: torch.device) -> ContextManager:
    """``torch.autocast`` to the model's ``precision`` setting on ``device``; a no-op for fp32 or without it."""
    dtype = PRECISIONS[model.setting_values.get("precision", "fp32")]
    return nullcontext() if dtype is None else torch.autocast(device_type=device.type, dtype=dtype)
