"""genbench's own data sets, registered through the public hook as a third-party plugin's would be
(``genbench.registry.plugins`` loads this module by name with the core's other contributions)."""

from __future__ import annotations

from genbench.datasets.captioned_folder import CAPTIONED_FOLDER
from genbench.datasets.cifar10 import CIFAR10
from genbench.datasets.coco import COCO
from genbench.datasets.digits import DIGITS
from genbench.datasets.fashion_mnist import FASHION_MNIST
from genbench.datasets.flowers102 import FLOWERS102
from genbench.datasets.reference_file import REFERENCE_FILE
from genbench.datasets.shapes import SHAPES_DATASET
from genbench.registry.hookspecs import hookimpl


@hookimpl
def genbench_datasets():
    return [DIGITS, SHAPES_DATASET, COCO, CAPTIONED_FOLDER, FASHION_MNIST, CIFAR10, FLOWERS102, REFERENCE_FILE]
