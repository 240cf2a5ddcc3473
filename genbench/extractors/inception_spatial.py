"""sFID's spatial feature in torch-fidelity's InceptionV3: TensorFlow's ``mixed_6/conv`` (first 7 channels), HWC order.

The ADM evaluator (openai/guided-diffusion, ``evaluations/evaluator.py``) reads ``mixed_6/conv:0`` of the 2015
Inception graph, keeps channels ``[..., :7]`` of that NHWC tensor (17x17x192) and flattens each image to
17·17·7 = 2 023 values, channel fastest. In the graph, ``mixed_6`` is the seventh Inception block (``mixed``,
``mixed_1``, ... ``mixed_10``), and ``mixed_6/conv`` is its first branch, the 1x1 convolution's ReLU output;
torch-fidelity's weight conversion maps ``mixed_6/conv/{conv2d_params,batchnorm}`` to ``Mixed_6d.branch1x1``.
So the tensor is ``Mixed_6d.branch1x1``'s output (NCHW), channels 0-6, permuted to NHWC before flattening
(docs/metrics.md gives the reasoning in full).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn as nn

#: The extractor feature holding these values.
SPATIAL = "spatial"
#: Channels of ``mixed_6/conv`` the evaluator keeps (``spatial[..., :7]``).
SPATIAL_CHANNELS = 7
#: What ``describe()`` records for the feature.
SPATIAL_SOURCE = ("TF mixed_6/conv = torch-fidelity Mixed_6d.branch1x1 (after ReLU), channels 0-6, "
                  "17x17x7 flattened height-width-channel as the ADM evaluator")


def hwc_rows(feature_map: torch.Tensor, channels: int = SPATIAL_CHANNELS) -> torch.Tensor:
    """``[N, C, H, W]`` to ``[N, H·W·channels]``: the first ``channels`` channels, flattened as TensorFlow's NHWC."""
    return feature_map[:, :channels].permute(0, 2, 3, 1).reshape(len(feature_map), -1)


def spatial_module(network: nn.Module) -> nn.Module:
    """The layer of torch-fidelity's ``FeatureExtractorInceptionV3`` that computes TF's ``mixed_6/conv``."""
    return network.Mixed_6d.branch1x1


@contextmanager
def captured_spatial(network: nn.Module) -> Iterator[list[torch.Tensor]]:
    """While inside, each forward pass of ``network`` appends its images' spatial rows (float32) to the list."""
    rows: list[torch.Tensor] = []
    handle = spatial_module(network).register_forward_hook(
        lambda module, inputs, output: rows.append(hwc_rows(output).float()))
    try:
        yield rows
    finally:
        handle.remove()
