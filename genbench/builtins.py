"""genbench's own data sets, extractors, metrics and protocols, registered through the public hooks."""

from __future__ import annotations

from genbench.datasets.captioned_folder import CAPTIONED_FOLDER
from genbench.datasets.cifar10 import CIFAR10
from genbench.datasets.coco import COCO
from genbench.datasets.digits import DIGITS
from genbench.datasets.fashion_mnist import FASHION_MNIST
from genbench.datasets.flowers102 import FLOWERS102
from genbench.datasets.shapes import SHAPES_DATASET
from genbench.extractors.classifier import CLASSIFIER
from genbench.extractors.cleanfid_backend import CLEANFID
from genbench.extractors.clip import CLIP
from genbench.extractors.clip_image import CLIP_IMAGE
from genbench.extractors.dataset_classifier import DATASET_CLASSIFIER
from genbench.extractors.dinov2 import DINOV2
from genbench.extractors.inception import INCEPTION
from genbench.hookspecs import hookimpl
from genbench.metrics.adm_frechet import ADM_FID, SFID
from genbench.metrics.adm_inception_score import ADM_ISC
from genbench.metrics.adm_precision_recall import ADM_PRECISION, ADM_RECALL
from genbench.metrics.classifier_confidence import CLASSIFIER_CONFIDENCE
from genbench.metrics.cleanfid_metrics import CLEAN_FID, CLEAN_KID
from genbench.metrics.clip_score import CLIP_SCORE
from genbench.metrics.diversity import CAPTION_DIVERSITY
from genbench.metrics.cmmd import CMMD
from genbench.metrics.fidelity import FID, ISC, KID, PRECISION, RECALL
from genbench.metrics.frechet import FD, FID_INFINITY
from genbench.metrics.manifold import COVERAGE, DENSITY
from genbench.metrics.vendi import VENDI
from genbench.protocol import builtin_protocol_files


@hookimpl
def genbench_datasets():
    return [DIGITS, SHAPES_DATASET, COCO, CAPTIONED_FOLDER, FASHION_MNIST, CIFAR10, FLOWERS102]


@hookimpl
def genbench_extractors():
    return [CLASSIFIER, INCEPTION, CLEANFID, CLIP, DATASET_CLASSIFIER, DINOV2, CLIP_IMAGE]


@hookimpl
def genbench_metrics():
    return [FID, KID, ISC, CLASSIFIER_CONFIDENCE, PRECISION, RECALL, CLEAN_FID, CLEAN_KID, CLIP_SCORE,
            CAPTION_DIVERSITY, FD, FID_INFINITY, CMMD, DENSITY, COVERAGE, VENDI,
            ADM_FID, SFID, ADM_ISC, ADM_PRECISION, ADM_RECALL]


@hookimpl
def genbench_protocols():
    return builtin_protocol_files()
