"""What a model plugin implements and may use: the contract (``base``), a base for torch networks with the shared
training loop (``kit``, ``training``), safetensors checkpoints, sampling precision and per-image noise.

Plugin authors import the contract from here: ``from genbench.models import GenerativeModel, ModelSpec, ...``.
"""

from genbench.models.base import (GenerativeModel, ImageFormat, ModelSpec, SampleBatch, Task, TrainingData,
                                  TrainingReport)
from genbench.models.checkpoints import load_checkpoint, save_checkpoint
from genbench.models.kit import NetworkModel, from_uint8, to_uint8
from genbench.models.precision import PrecisionSetting

__all__ = ["GenerativeModel", "ImageFormat", "ModelSpec", "NetworkModel", "PrecisionSetting", "SampleBatch", "Task",
           "TrainingData", "TrainingReport", "from_uint8", "load_checkpoint", "save_checkpoint", "to_uint8"]
