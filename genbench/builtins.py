"""genbench's own data sets, extractors, metrics and protocols, registered through the public hooks."""

from __future__ import annotations

from genbench.datasets.cifar10 import CIFAR10
from genbench.datasets.digits import DIGITS
from genbench.datasets.fashion_mnist import FASHION_MNIST
from genbench.datasets.flowers102 import FLOWERS102
from genbench.extractors.classifier import CLASSIFIER
from genbench.extractors.cleanfid_backend import CLEANFID
from genbench.extractors.dataset_classifier import DATASET_CLASSIFIER
from genbench.extractors.inception import INCEPTION
from genbench.hookspecs import hookimpl
from genbench.metrics.classifier_confidence import CLASSIFIER_CONFIDENCE
from genbench.metrics.cleanfid_metrics import CLEAN_FID, CLEAN_KID
from genbench.metrics.fidelity import FID, ISC, KID, PRECISION, RECALL
from genbench.protocol import builtin_protocol_files


@hookimpl
def genbench_datasets():
    return [DIGITS, FASHION_MNIST, CIFAR10, FLOWERS102]


@hookimpl
def genbench_extractors():
    return [CLASSIFIER, INCEPTION, CLEANFID, DATASET_CLASSIFIER]


@hookimpl
def genbench_metrics():
    return [FID, KID, ISC, CLASSIFIER_CONFIDENCE, PRECISION, RECALL, CLEAN_FID, CLEAN_KID]


@hookimpl
def genbench_protocols():
    return builtin_protocol_files()
