"""``shapes``: procedurally drawn coloured shapes with captions that describe them, generated offline.

Image i of a split is drawn from its own generator ``numpy.random.default_rng([split code, i])``,
so the data set is the same on every machine and whatever its size. Each image shows one shape
(circle, square or triangle) in one of six colours at one of five positions, small or large,
with jittered position, size, rotation, colour and background; its caption says all four, e.g.
"a small red circle on the left". Shapes are drawn with PIL at 4x and reduced with a box filter.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image, ImageDraw

from genbench.datasets.base import DataRequest, DatasetSpec, ImageDataset
from genbench.errors import DataError

COLOURS = {"red": (220, 40, 40), "green": (40, 170, 60), "blue": (50, 80, 230),
           "yellow": (235, 210, 40), "purple": (150, 60, 200), "white": (235, 235, 235)}
SHAPES = ("circle", "square", "triangle")
POSITIONS = {"on the left": (0.28, 0.5), "on the right": (0.72, 0.5), "at the top": (0.5, 0.28),
             "at the bottom": (0.5, 0.72), "in the centre": (0.5, 0.5)}
SIZES = {"small": 0.24, "large": 0.42}  # shape width as a share of the image width
SPLITS = {"train": 0, "test": 1}
DEFAULT_COUNTS = {"train": 4000, "test": 1000}
SUPERSAMPLE = 4


def shapes_caption(size: str, colour: str, shape: str, position: str) -> str:
    return f"a {size} {colour} {shape} {position}"


def _polygon(shape: str, cx: float, cy: float, radius: float, angle: float) -> list[tuple[float, float]]:
    corners = {"square": 4, "triangle": 3}[shape]
    start = angle - math.pi / 2 + (math.pi / 4 if shape == "square" else 0.0)
    return [(cx + radius * math.cos(start + 2 * math.pi * k / corners),
             cy + radius * math.sin(start + 2 * math.pi * k / corners)) for k in range(corners)]


def draw_shape(rng: np.random.Generator, image_size: int) -> tuple[Image.Image, str, int]:
    """One RGB picture, its caption and its class (colour, shape, position: 90 classes)."""
    colour = list(COLOURS)[rng.integers(len(COLOURS))]
    shape = SHAPES[rng.integers(len(SHAPES))]
    position = list(POSITIONS)[rng.integers(len(POSITIONS))]
    size = list(SIZES)[rng.integers(len(SIZES))]
    canvas = image_size * SUPERSAMPLE
    background = tuple(int(v) for v in rng.integers(0, 50, size=3))
    picture = Image.new("RGB", (canvas, canvas), background)
    cx, cy = (np.array(POSITIONS[position]) + rng.uniform(-0.05, 0.05, size=2)) * canvas
    radius = SIZES[size] * rng.uniform(0.9, 1.1) * canvas / 2
    fill = tuple(int(v) for v in np.clip(np.array(COLOURS[colour]) + rng.integers(-15, 16, size=3), 0, 255))
    draw = ImageDraw.Draw(picture)
    if shape == "circle":
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=fill)
    else:
        draw.polygon(_polygon(shape, cx, cy, radius * (1.2 if shape == "triangle" else 1.15),
                              rng.uniform(-0.3, 0.3)), fill=fill)
    label = (list(COLOURS).index(colour) * len(SHAPES) + SHAPES.index(shape)) * len(POSITIONS) \
        + list(POSITIONS).index(position)
    return picture.resize((image_size, image_size), Image.BOX), shapes_caption(size, colour, shape, position), label


def load_shapes_split(request: DataRequest) -> ImageDataset:
    """The requested split (``train``/``test``; sizes from the ``train_size``/``test_size`` options)."""
    if request.split not in SPLITS:
        raise DataError(f"shapes has splits 'train' and 'test', not '{request.split}'")
    count = int(request.options.get(f"{request.split}_size", DEFAULT_COUNTS[request.split]))
    pictures, captions, labels = [], [], []
    for index in range(count):
        picture, caption, label = draw_shape(np.random.default_rng([SPLITS[request.split], index]), request.image_size)
        pictures.append(np.asarray(picture.convert("L") if request.channels == 1 else picture))
        captions.append(caption)
        labels.append(label)
    images = torch.from_numpy(np.stack(pictures))
    images = images.unsqueeze(1) if request.channels == 1 else images.permute(0, 3, 1, 2)
    num_classes = len(COLOURS) * len(SHAPES) * len(POSITIONS)
    return ImageDataset(images=images.contiguous(), labels=torch.tensor(labels), captions=captions,
                        num_classes=num_classes)


SHAPES_DATASET = DatasetSpec(
    name="shapes",
    description="procedurally drawn coloured shapes with describing captions (offline, deterministic)",
    load=load_shapes_split,
    settings={f"{split}_size": count for split, count in DEFAULT_COUNTS.items()},
)
