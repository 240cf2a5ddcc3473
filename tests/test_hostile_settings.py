"""Settings a careless user gives are refused before any work: nothing trains, samples or is written first."""

from __future__ import annotations

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
