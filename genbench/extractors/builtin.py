"""genbench's own feature extractors, registered through the public hook as a third-party plugin's would be
(``genbench.registry.plugins`` loads this module by name with the core's other contributions)."""

from __future__ import annotations

from genbench.extractors.classifier import CLASSIFIER
from genbench.extractors.cleanfid_backend import CLEANFID
from genbench.extractors.clip import CLIP
from genbench.extractors.clip_image import CLIP_IMAGE
from genbench.extractors.dataset_classifier import DATASET_CLASSIFIER
from genbench.extractors.dinov2 import DINOV2
from genbench.extractors.inception import INCEPTION
from genbench.registry.hookspecs import hookimpl


@hookimpl
def genbench_extractors():
    return [CLASSIFIER, INCEPTION, CLEANFID, CLIP, DATASET_CLASSIFIER, DINOV2, CLIP_IMAGE]
