"""Rebuild ``digits_classifier.safetensors``: ``python -m genbench.reference.build_digits``.

Trains the reference classifier on the digits training split (seeded, CPU), prints its test
accuracy and SHA-256; both are pinned in ``protocols/digits.toml``. Maintainers run this
only when the classifier must change, which changes the protocol's version and fingerprint.
"""

from __future__ import annotations

from pathlib import Path

from genbench.datasets.base import DataRequest
from genbench.datasets.digits import load_digits_split
from genbench.extractors.classifier import REFERENCE_DIR, build_reference_classifier

IMAGE_SIZE = 16


def build(path: Path = REFERENCE_DIR / "digits_classifier.safetensors") -> tuple[float, str]:
    """Train on the train split, measure on the test split; (test accuracy, SHA-256)."""
    train = load_digits_split(DataRequest("train", IMAGE_SIZE, 1))
    test = load_digits_split(DataRequest("test", IMAGE_SIZE, 1))
    return build_reference_classifier(train, test, path)


if __name__ == "__main__":
    accuracy, digest = build()
    print(f"test_accuracy = {accuracy:.4f}\nsha256 = \"{digest}\"")
