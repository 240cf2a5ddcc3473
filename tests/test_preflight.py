"""Fail before the expensive part: metric requirements are checked before anything trains or samples."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genbench.cli import main
from genbench.errors import MetricError
from genbench.metrics.base import MetricPlan
from genbench.metrics.diversity import CAPTION_DIVERSITY
from genbench.metrics.fidelity import FID, ISC, KID, PRECISION
from genbench.protocols.protocol import builtin_protocol_files

THIRD_PARTY_METRIC = '''
from genbench import hookimpl
from genbench.errors import MetricError
from genbench.metrics.base import MetricSpec, MetricValue


def check(plan):
    if plan.num_generated < plan.settings["at_least"]:
        raise MetricError(f"acme_score wants {plan.settings['at_least']} samples, the run makes {plan.num_generated}")


@hookimpl
def genbench_metrics():
    return [MetricSpec(name="acme_score", description="a third-party metric", compute=lambda inputs: MetricValue(0.0),
                       higher_is_better=True, defaults={"at_least": 5000}, check=check)]
'''


def run_digits(tmp_path, *settings: str) -> int:
    return main(["run", "--plugin", "vae", "--protocol", "digits", "--results-dir", str(tmp_path / "r"), "--quiet",
                 *[arg for s in settings for arg in ("--set", s)]])


@pytest.mark.parametrize("settings, message", [
    (["protocol.sampling.num_samples=50"],
     "protocol 'digits', metric 'fd': fid: generated set has 50 samples, needs at least 65 (a full-rank covariance "
     "of 64-d features needs more samples than dimensions) (checked before any work)"),
    (["protocol.metrics.kid.subset_size=500"],
     "protocol 'digits', metric 'kid': kid: reference set has 360 samples, needs at least 500 (KID draws subsets of "
     "500 without replacement) (checked before any work)"),
    (["protocol.metrics.is.splits=600"],
     "protocol 'digits', metric 'is': isc: generated set has 1000 samples, needs at least 1200 (600 splits need two "
     "samples each) (checked before any work)"),
])
def test_a_protocol_its_metrics_cannot_use_fails_before_training(settings, message, tmp_path, capsys):
    assert run_digits(tmp_path, *settings) == 2
    assert capsys.readouterr().err.strip() == f"genbench: error: {message}"
    assert not (tmp_path / "r" / "checkpoints").exists() and not (tmp_path / "r" / ".work").exists()


def test_a_third_party_metric_declares_its_requirement(plugin_installer, tmp_path, capsys):
    plugin_installer.install("acme-metrics", "acme", "acme_metric_plugin", THIRD_PARTY_METRIC, "1.0")
    protocol = tmp_path / "acme.toml"
    text = next(p for p in builtin_protocol_files() if p.stem == "digits").read_text(encoding="utf-8")
    protocol.write_text(text.replace("[metrics.fd]", '[metrics.acme]\nmetric = "acme_score"\nextractor = "classifier"\n'
                                                      'feature = "logits"\n\n[metrics.fd]'), encoding="utf-8")
    code = main(["run", "--plugin", "vae", "--protocol", str(protocol), "--results-dir", str(tmp_path / "r"),
                 "--quiet"])
    assert code == 2
    assert capsys.readouterr().err.strip() == ("genbench: error: protocol 'digits', metric 'acme': acme_score wants "
                                               "5000 samples, the run makes 1000 (checked before any work)")
    assert not (tmp_path / "r" / "checkpoints").exists()


def test_score_checks_its_metrics_before_extracting_features(tmp_path, capsys):
    np.savez(tmp_path / "samples.npz", np.zeros((10, 16, 16, 1), dtype=np.uint8))
    code = main(["score", "--protocol", "digits", "--samples", str(tmp_path / "samples.npz"),
                 "--results-dir", str(tmp_path / "r"), "--quiet"])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "genbench: error: protocol 'digits', metric 'fd': fid: generated set has 10 samples, needs at least 65 "
        "(a full-rank covariance of 64-d features needs more samples than dimensions) (checked before any work)")


def plan(num_generated: int, num_reference: int | None, dim: int, settings: dict, groups=None) -> MetricPlan:
    return MetricPlan(num_generated, num_reference, dim, settings, groups)


def test_builtin_checks_say_what_compute_would_refuse():
    FID.check(plan(65, 65, 64, FID.defaults))
    with pytest.raises(MetricError, match=r"^fid: reference set has 64 samples, needs at least 65"):
        FID.check(plan(65, 64, 64, FID.defaults))
    FID.check(plan(2, 2, 64, {"allow_singular_covariance": True}))
    with pytest.raises(MetricError, match=r"^kid: generated set has 999 samples, needs at least 1000"):
        KID.check(plan(999, 5000, 8, KID.defaults))
    with pytest.raises(MetricError, match=r"^isc: generated set has 19 samples, needs at least 20"):
        ISC.check(plan(19, None, 10, ISC.defaults))
    with pytest.raises(MetricError, match=r"^prc: reference set has 3 samples, needs at least 4"):
        PRECISION.check(plan(10, 3, 8, PRECISION.defaults))
    with pytest.raises(MetricError, match=r"^caption_diversity: no caption has two or more of the 3 images"):
        CAPTION_DIVERSITY.check(plan(3, None, 8, CAPTION_DIVERSITY.defaults, torch.tensor([0, 1, 2])))
    CAPTION_DIVERSITY.check(plan(3, None, 8, CAPTION_DIVERSITY.defaults, torch.tensor([0, 0, 2])))
