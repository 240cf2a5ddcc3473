"""Rebuild ``digits_classifier.safetensors``: ``python -m genbench.reference.build_digits``.

Trains the reference classifier on the digits training split (seeded, CPU), prints its test
accuracy and SHA-256; both are pinned in ``protocols/digits.toml``. Maintainers run this
only when the classifier must change, which changes the protocol's version and fingerprint.
"""

from __future__ import annotations

from pathlib import Path

from genbench.datasets.base import DataRequest
from genbench.datasets.digits import load_digits_split
from genbench.extractors.classifier import (REFERENCE_DIR, classifier_accuracy, save_classifier,
                                            train_reference_classifier)
from genbench.trust.hashing import sha256_file

IMAGE_SIZE = 16


def build(path: Path = REFERENCE_DIR / "digits_classifier.safetensors") -> tuple[float, str]:
    import torch

    torch.set_num_threads(1)  # bit-for-bit reproducible on any CPU count
    train = load_digits_split(DataRequest("train", IMAGE_SIZE, 1))
    test = load_digits_split(DataRequest("test", IMAGE_SIZE, 1))
    model = train_reference_classifier(train.images, train.labels, num_classes=10, epochs=30, seed=0)
    save_classifier(model, path)
    return classifier_accuracy(model, test.images, test.labels), sha256_file(path)


if __name__ == "__main__":
    accuracy, digest = build()
    print(f"test_accuracy = {accuracy:.4f}\nsha256 = \"{digest}\"")
