"""Rebuild ``shapes_classes_classifier.safetensors``: ``python -m genbench.reference.build_shapes_classes``.

The judge of the ``shapes-classes`` protocol: genbench's small reference classifier (as for digits) trained
on the shapes training split with the 18 colour-and-shape classes (``classes = "colour-shape"``), seeded,
on one CPU thread. Prints its accuracy on the protocol's reference split and its SHA-256; both are pinned
in ``protocols/shapes-classes.toml``. Maintainers run this only when the classifier must change, which
changes the protocol's version and fingerprint.
"""

from __future__ import annotations

from pathlib import Path

from genbench.datasets.base import DataRequest
from genbench.datasets.shapes import load_shapes_split
from genbench.extractors.classifier import REFERENCE_DIR, build_reference_classifier

IMAGE_SIZE = 32
#: The data options of ``protocols/shapes-classes.toml``.
OPTIONS = {"classes": "colour-shape", "train_size": 4000, "test_size": 3000}


def build(path: Path = REFERENCE_DIR / "shapes_classes_classifier.safetensors") -> tuple[float, str]:
    """Train on the train split, measure on the test split; (test accuracy, SHA-256)."""
    train = load_shapes_split(DataRequest("train", IMAGE_SIZE, 3, options=OPTIONS))
    test = load_shapes_split(DataRequest("test", IMAGE_SIZE, 3, options=OPTIONS))
    return build_reference_classifier(train, test, path)


if __name__ == "__main__":
    accuracy, digest = build()
    print(f"test_accuracy = {accuracy:.4f}\nsha256 = \"{digest}\"")
