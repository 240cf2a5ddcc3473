"""``shapes``: procedurally drawn coloured shapes with captions that describe them, generated offline.

Image i of a split is drawn from its own generator ``numpy.random.default_rng([split code, i])``,
so the data set is the same on every machine and whatever its size. Each image shows one shape
(circle, square or triangle) in one of six colours at one of five positions, small or large,
with jittered position, size, rotation, colour and background; its caption says all four, e.g.
"a small red circle on the left". Shapes are drawn with PIL at 4x and reduced with a box filter.

Labels: the ``classes`` option says which attributes make a class (``CLASS_SCHEMES``): by default
colour, shape and position (90 classes); ``colour-shape`` (18), ``shape`` (3) or ``colour`` (6) for
class-conditional protocols. Only the labels change, never the pictures or captions.
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
#: The attributes whose combination is a class, per ``classes`` option (the first attribute varies slowest).
CLASS_SCHEMES = {"colour-shape-position": ("colour", "shape", "position"), "colour-shape": ("colour", "shape"),
                 "shape": ("shape",), "colour": ("colour",)}
ATTRIBUTES = {"colour": tuple(COLOURS), "shape": SHAPES, "position": tuple(POSITIONS)}
SPLITS = {"train": 0, "test": 1}
DEFAULT_COUNTS = {"train": 4000, "test": 1000}
DEFAULT_SCHEME = "colour-shape-position"
SUPERSAMPLE = 4


def shapes_caption(size: str, colour: str, shape: str, position: str) -> str:
    return f"a {size} {colour} {shape} {position}"


def _polygon(shape: str, cx: float, cy: float, radius: float, angle: float) -> list[tuple[float, float]]:
    corners = {"square": 4, "triangle": 3}[shape]
    start = angle - math.pi / 2 + (math.pi / 4 if shape == "square" else 0.0)
    return [(cx + radius * math.cos(start + 2 * math.pi * k / corners),
             cy + radius * math.sin(start + 2 * math.pi * k / corners)) for k in range(corners)]


def class_index(attributes: dict[str, str], scheme: str) -> int:
    """The class of a picture with ``attributes`` under ``scheme`` (mixed radix over the scheme's attributes)."""
    index = 0
    for name in CLASS_SCHEMES[scheme]:
        index = index * len(ATTRIBUTES[name]) + ATTRIBUTES[name].index(attributes[name])
    return index


def class_names(scheme: str) -> list[str]:
    """Each class's name under ``scheme``, class 0 first ("red circle" for ``colour-shape``)."""
    names = [""]
    for name in CLASS_SCHEMES[scheme]:
        names = [f"{prefix} {value}".strip() for prefix in names for value in ATTRIBUTES[name]]
    return names


def draw_shape(rng: np.random.Generator, image_size: int) -> tuple[Image.Image, str, dict[str, str]]:
    """One RGB picture, its caption and its attributes (colour, shape, position, size)."""
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
    attributes = {"colour": colour, "shape": shape, "position": position, "size": size}
    caption = shapes_caption(size, colour, shape, position)
    return picture.resize((image_size, image_size), Image.BOX), caption, attributes


def load_shapes_split(request: DataRequest) -> ImageDataset:
    """The requested split (``train``/``test``; sizes from the ``train_size``/``test_size`` options, labels from
    the ``classes`` option)."""
    if request.split not in SPLITS:
        raise DataError(f"shapes has splits 'train' and 'test', not '{request.split}'")
    scheme = request.options.get("classes", DEFAULT_SCHEME)
    if scheme not in CLASS_SCHEMES:
        raise DataError(f"shapes option classes = {scheme!r} is not one of {', '.join(CLASS_SCHEMES)}")
    count = int(request.options.get(f"{request.split}_size", DEFAULT_COUNTS[request.split]))
    pictures, captions, labels = [], [], []
    for index in range(count):
        picture, caption, attributes = draw_shape(np.random.default_rng([SPLITS[request.split], index]),
                                                  request.image_size)
        pictures.append(np.asarray(picture.convert("L") if request.channels == 1 else picture))
        captions.append(caption)
        labels.append(class_index(attributes, scheme))
    images = torch.from_numpy(np.stack(pictures))
    images = images.unsqueeze(1) if request.channels == 1 else images.permute(0, 3, 1, 2)
    names = class_names(scheme)
    return ImageDataset(images=images.contiguous(), labels=torch.tensor(labels), captions=captions,
                        num_classes=len(names), class_names=names)


SHAPES_DATASET = DatasetSpec(
    name="shapes",
    description="procedurally drawn coloured shapes with describing captions (offline, deterministic)",
    load=load_shapes_split,
    settings={**{f"{split}_size": count for split, count in DEFAULT_COUNTS.items()}, "classes": DEFAULT_SCHEME},
)
