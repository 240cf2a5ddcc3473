"""genbench's own metrics, registered through the public hook as a third-party plugin's would be
(``genbench.registry.plugins`` loads this module by name with the core's other contributions)."""

from __future__ import annotations

from genbench.metrics.adm_frechet import ADM_FID, SFID
from genbench.metrics.adm_inception_score import ADM_ISC
from genbench.metrics.adm_precision_recall import ADM_PRECISION, ADM_RECALL
from genbench.metrics.classes import CLASS_ACCURACY, INTRA_FD
from genbench.metrics.classifier_confidence import CLASSIFIER_CONFIDENCE
from genbench.metrics.cleanfid_metrics import CLEAN_FID, CLEAN_KID
from genbench.metrics.clip_score import CLIP_SCORE
from genbench.metrics.cmmd import CMMD
from genbench.metrics.diversity import CAPTION_DIVERSITY
from genbench.metrics.fidelity import FID, ISC, KID, PRECISION, RECALL
from genbench.metrics.frechet import FD, FID_INFINITY
from genbench.metrics.manifold import COVERAGE, DENSITY
from genbench.metrics.vendi import VENDI
from genbench.registry.hookspecs import hookimpl


@hookimpl
def genbench_metrics():
    return [FID, KID, ISC, CLASSIFIER_CONFIDENCE, PRECISION, RECALL, CLEAN_FID, CLEAN_KID, CLIP_SCORE,
            CAPTION_DIVERSITY, FD, FID_INFINITY, CMMD, DENSITY, COVERAGE, VENDI,
            ADM_FID, SFID, ADM_ISC, ADM_PRECISION, ADM_RECALL, CLASS_ACCURACY, INTRA_FD]
