"""Tiny random diffusers pipelines through ``genbench run`` on the embedded protocols: a result written with what
ran, the run's images those of the pipeline called directly with the same generators, and a task mismatch refused
in one line before anything loads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from diffusion_helpers import one_thread  # noqa: F401  (fixture)
from PIL import Image
from tiny_pipelines import as_uint8, ddpm, dit, generators, stable_diffusion

import genbench
from genbench.cli import main
from genbench.datasets.base import DataRequest
from genbench.datasets.shapes import load_shapes_split
from genbench.evaluation.options import ScoreOptions
from genbench.evaluation.score import score_samples
from genbench.leaderboard.tables import model_label
from genbench.protocols.conditions import balanced_class_plan
from genbench.trust.fingerprint import converted_fingerprint
from genbench.trust.hashing import sha256_tree
from genbench.trust.seeds import sample_seed

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.slow]
#: 100 shapes samples in batches of 50, one timed batch of 2, 2 images per prompt in the gallery.
SMALL_SHAPES = {"protocol.sampling.num_samples": 100, "protocol.sampling.samples_per_caption": 2,
                "protocol.sampling.shard_size": 50, "protocol.sampling.batch_size": 50,
                "protocol.metrics.kid.subset_size": 50, "protocol.speed.batch_sizes": [2], "protocol.speed.warmup": 0,
                "protocol.speed.repeats": 1, "protocol.gallery.samples_per_prompt": 2}
#: 200 digits samples (one batch), one timed batch of 2.
SMALL_DIGITS = {"protocol.sampling.num_samples": 200, "protocol.speed.batch_sizes": [2], "protocol.speed.warmup": 0,
                "protocol.speed.repeats": 1}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipelines")
    return {"sd": stable_diffusion(root / "tiny-sd"), "dit": dit(root / "tiny-dit"), "ddpm": ddpm(root / "tiny-ddpm")}


def run(folder: Path, protocol: str, results: Path, settings: dict) -> dict:
    return genbench.run(plugin="diffusers", protocol=protocol, checkpoint=folder, results_dir=results, quiet=True,
                        save_samples=True, settings=settings)


def saved_samples(record: dict, results: Path, count: int) -> torch.Tensor:
    files = sorted((results / record["artifacts"]["samples_dir"]).glob("*.png"))[:count]
    return as_uint8([Image.open(path) for path in files])


def direct(folder: Path, seeds: list[int], **arguments) -> torch.Tensor:
    from diffusers import DiffusionPipeline

    pipeline = DiffusionPipeline.from_pretrained(folder)
    pipeline.set_progress_bar_config(disable=True)
    return as_uint8(pipeline(generator=generators(seeds), **arguments).images)


def test_stable_diffusion_runs_on_shapes_with_the_pipelines_own_images(folders, tmp_path):
    record = run(folders["sd"], "shapes", tmp_path, {**SMALL_SHAPES, "steps": "2"})
    plugin = record["plugin"]
    assert (plugin["task"], plugin["config"]["pipeline"], plugin["config"]["scheduler"]["class"]) == (
        "text-to-image", "StableDiffusionPipeline", "PNDMScheduler")
    assert plugin["checkpoint_sha256"] == sha256_tree(folders["sd"])
    assert (plugin["settings"]["steps"], plugin["default_settings"]["steps"], plugin["settings"]["height"]) == (2, 50, 32)
    assert record["samples"]["conversion"] is None and record["samples"]["determinism"]["deterministic"]
    assert record["speed"]["network_evaluations_per_image"] == 6  # PNDM: 3 U-Net passes, twice under guidance 7.5
    assert model_label(record) == "tiny-sd (steps=2)"
    assert len(record["artifacts"]["gallery"]) == 4 and record["metrics"]["clip_score"]["value"] >= 0
    captions = load_shapes_split(DataRequest("test", 32, 3, options={"test_size": 1000})).captions
    first = range(50)  # the run's first batch: image i gets caption i // 2 and seed sample_seed(0, i)
    theirs = direct(folders["sd"], [sample_seed(0, i) for i in first], prompt=[captions[i // 2] for i in first],
                    num_inference_steps=2, height=32, width=32)
    assert torch.equal(saved_samples(record, tmp_path, 50), theirs)


def test_ddpm_pipeline_runs_on_digits_with_the_pipelines_own_images(folders, tmp_path):
    record = run(folders["ddpm"], "digits", tmp_path, {**SMALL_DIGITS, "steps": "10"})
    assert (record["plugin"]["task"], record["plugin"]["config"]["pipeline"]) == ("unconditional", "DDPMPipeline")
    assert record["speed"]["network_evaluations_per_image"] == 10 and record["metrics"]["fd"]["value"] > 0
    theirs = direct(folders["ddpm"], [sample_seed(0, i) for i in range(200)], batch_size=200, num_inference_steps=10)
    assert torch.equal(saved_samples(record, tmp_path, 200), theirs)


def test_dit_runs_class_conditional_with_its_images_resized_and_made_grey_by_the_harness(folders, tmp_path):
    small = {**SMALL_DIGITS, "steps": "2"}  # 20 images per class: intra_fd's 65 per class left out
    record = genbench.run(plugin="diffusers", protocol="digits-classes", checkpoint=folders["dit"], quiet=True,
                          results_dir=tmp_path / "r", save_samples=True, settings=small, drop_metrics=("intra_fd",))
    assert (record["plugin"]["task"], record["plugin"]["config"]["pipeline"]) == ("class-conditional", "DiTPipeline")
    assert record["samples"]["conversion"]["from"] == {"size": 32, "channels": 3}
    assert len(record["samples"]["conversion"]["steps"]) == 2  # resized to 16x16, then made grey
    labels = balanced_class_plan(200, 10, 0)
    assert record["samples"]["labels"]["per_class"] == [20] * 10
    batch = tmp_path / "samples.npz"  # the run's images with their classes, as DiT's own sampler writes them
    np.savez(batch, arr_0=saved_samples(record, tmp_path / "r", 200).permute(0, 2, 3, 1).numpy(),
             arr_1=np.asarray(labels))
    scored = score_samples(ScoreOptions(protocol="digits-classes", samples=batch, results_dir=tmp_path / "scored",
                                        quiet=True, settings=SMALL_DIGITS, drop_metrics=("intra_fd",)))
    assert scored["samples"]["labels"]["sha256"] == record["samples"]["labels"]["sha256"]
    for key in ("fd", "class_accuracy"):  # the same images, classes, features and numbers
        assert scored["metrics"][key]["value"] == record["metrics"][key]["value"]
    assert record["protocol"]["fingerprint"] == converted_fingerprint(scored["protocol"]["fingerprint"],
                                                                      record["samples"]["conversion"]["steps"])
    theirs = direct(folders["dit"], [sample_seed(0, i) for i in range(20)], class_labels=labels[:20],
                    num_inference_steps=2)
    from cleanfid.resize import make_resizer

    resize = make_resizer("PIL", False, "bicubic", (16, 16))
    expected = [np.asarray(Image.fromarray(np.round(resize(image.permute(1, 2, 0).numpy())).astype(np.uint8))
                           .convert("L")) for image in theirs[:20]]
    assert torch.equal(saved_samples(record, tmp_path / "r", 20), torch.from_numpy(np.stack(expected))[:, None])


@pytest.mark.parametrize("pipeline, protocol, task", [("sd", "digits", "a text-to-image"),
                                                      ("dit", "shapes", "a class-conditional"),
                                                      ("ddpm", "shapes", "an unconditional")])
def test_a_pipeline_of_another_task_is_refused_before_anything_loads(folders, tmp_path, capsys, pipeline, protocol,
                                                                     task):
    code = main(["run", "--plugin", "diffusers", "--protocol", protocol, "--checkpoint", str(folders[pipeline]),
                 "--results-dir", str(tmp_path / "r")])
    assert code == 2
    expected = {"digits": "unconditional", "shapes": "text-to-image"}[protocol]
    assert capsys.readouterr().err.strip() == (f"genbench: error: plugin 'diffusers' with checkpoint {folders[pipeline]} "
                                               f"is {task} model; protocol '{protocol}' evaluates {expected} models")
