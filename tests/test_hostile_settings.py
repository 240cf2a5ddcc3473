"""Settings a careless user gives are refused before any work: nothing trains, samples or is written first."""

from __future__ import annotations

import json

import pytest

from genbench.cli import main


@pytest.mark.parametrize("arguments, message", [
    (["run", "--plugin", "ddim", "--protocol", "digits", "--set", "steps=5000"],
     "plugin 'ddim': ddim setting steps=5000 must lie between 1 and the model's 1000 training steps"),
    (["sweep", "--plugin", "ddim", "--protocol", "digits", "--set", "steps=10,5000"],
     "plugin 'ddim': ddim setting steps=5000 must lie between 1 and the model's 1000 training steps"),
    (["sweep", "--plugin", "ddim", "--protocol", "digits", "--set", "eta=0,nan"],
     "plugin 'ddim': setting 'eta' must be a finite number, got 'nan'"),
])
def test_a_setting_the_schedule_cannot_take_is_refused_before_training(arguments, message, tmp_path, capsys):
    assert main([*arguments, "--results-dir", str(tmp_path / "r"), "--quiet"]) == 2
    assert capsys.readouterr().err == f"genbench: error: {message}\n"
    assert not (tmp_path / "r" / "checkpoints").exists()  # nothing trained first
    assert list((tmp_path / "r").glob("*.json")) == []


def test_a_plan_too_large_for_the_machine_is_refused_with_a_way_to_insist(tmp_path, vae_checkpoint, capsys):
    arguments = ["run", "--plugin", "vae", "--protocol", "digits", "--checkpoint", str(vae_checkpoint),
                 "--results-dir", str(tmp_path / "r"), "--quiet", "--set", "protocol.sampling.num_samples=1000000000"]
    assert main(arguments) == 2
    err = capsys.readouterr().err
    assert err.startswith("genbench: error: protocol 'digits' with 1,000,000,000 samples needs about ")
    assert err.endswith("; shrink protocol.sampling.num_samples, or pass --allow-large-plan to run it anyway\n")
    assert not (tmp_path / "r" / ".work").exists()


def test_the_size_of_a_plan_counts_every_feature_kept(tmp_path):
    from genbench.evaluation.preflight import plan_bytes

    widths = {("classifier", "penultimate"): 64, ("classifier", "logits"): 10}
    assert plan_bytes(1000, widths) == 1000 * (64 + 10 + 1) * 8  # float64 features and a 64-bit digest each


def test_reference_and_score_take_protocol_overrides_and_refuse_model_settings(tmp_path, capsys):
    """A user smoke-tests a data copy with a smaller protocol; there is no model to set."""
    arguments = ["reference", "--protocol", "shapes", "--results-dir", str(tmp_path / "r"), "--quiet",
                 "--set", "protocol.metrics.fd.bootstrap=0", "--set", "protocol.sampling.seed=3"]
    assert main(arguments) == 0
    record = json.loads(next((tmp_path / "r").glob("*.json")).read_text())
    assert record["samples"]["seed"] == 3 and record["metrics"]["fd"]["interval"] is None
    assert main(["reference", "--protocol", "digits", "--set", "steps=20"]) == 2
    assert capsys.readouterr().err.endswith("genbench: error: --set steps: only protocol.* overrides apply here "
                                            "(there is no model to set)\n")


def test_the_reference_row_checks_its_metrics_on_the_halves_before_extracting_anything(tmp_path, capsys):
    """digits' FD∞ needs more than the 180 images of a half of its test split: said before any feature."""
    assert main(["reference", "--protocol", "digits", "--results-dir", str(tmp_path / "r"), "--quiet"]) == 2
    assert capsys.readouterr().err.endswith("(checked before any work)\n")
    assert not list((tmp_path / "cache").rglob("*.safetensors"))
