"""Class-conditional end to end: the balanced class plan and its place in the fingerprint, the cvae, ddpm-cfg and
ddim-cfg plugins through the runner on digits-classes, classifier-free guidance, and the per-class table."""

from __future__ import annotations

import pytest
import torch
from diffusion_helpers import DEVICE, one_thread, small_digits_protocol  # noqa: F401  (fixture)
from leaderboard_records import make_record, write_records

import genbench.protocols.protocol
from genbench.cli import main
from genbench.datasets.base import DataRequest
from genbench.datasets.digits import load_digits_split
from genbench.datasets.shapes import load_shapes_split
from genbench.errors import PluginError, ProtocolError, WeightsError
from genbench.evaluation.real_images import split_halves
from genbench.extractors.classifier import REFERENCE_DIR, classifier_accuracy, load_classifier
from genbench.leaderboard import build_leaderboard
from genbench.models.base import ImageFormat, SampleBatch
from genbench.protocols.conditions import balanced_class_plan, class_counts
from genbench.protocols.protocol import builtin_protocol_files, load_protocol_file
from genbench.reference.build_shapes_classes import OPTIONS
from genbench.registry import get_registry
from genbench.storage.results import read_result
from genbench.trust.determinism import TOLERANCE, mean_abs_difference
from genbench.trust.hashing import sha256_file, sha256_json
from genbench.trust.seeds import CLASS_PLAN_VERSION, sample_seed

pytestmark = pytest.mark.usefixtures("one_thread")
#: 700 samples: 70 per digit, more than the 64 feature dimensions each class's FD needs.
SMALL = ["--set", "protocol.sampling.num_samples=700", "--set", "protocol.speed.repeats=1", "--quiet"]


def shipped(name: str):
    return load_protocol_file(next(p for p in builtin_protocol_files() if p.stem == name))


def test_the_class_plan_is_balanced_seeded_and_the_same_for_every_prefix():
    plan = balanced_class_plan(1000, 10, 0)
    assert class_counts(plan, 10) == [100] * 10
    assert all(sorted(plan[start:start + 10]) == list(range(10)) for start in range(0, 1000, 10))
    assert plan != [i % 10 for i in range(1000)]  # seeded, not i mod K
    assert balanced_class_plan(500, 10, 0) == plan[:500] and balanced_class_plan(1000, 10, 0) == plan
    assert balanced_class_plan(1000, 10, 1) != plan and balanced_class_plan(1000, 10, 2 ** 32) != plan
    assert class_counts(balanced_class_plan(36, 18, 2 ** 63 - 1), 18) == [2] * 18
    with pytest.raises(ProtocolError, match=r"num_samples = 1005 is not a multiple of the 10 classes: .* \(use 1000 "):
        balanced_class_plan(1005, 10, 0)


def test_the_class_plan_is_in_the_fingerprint_of_class_conditional_protocols_only(monkeypatch):
    digits, classes = shipped("digits"), shipped("digits-classes")
    weights = {"classifier": digits.extractors["classifier"]["sha256"]}
    before = digits.fingerprint(weights, "r"), classes.fingerprint(weights, "r")
    monkeypatch.setattr(genbench.protocols.protocol, "CLASS_PLAN_VERSION", CLASS_PLAN_VERSION + 1)
    assert digits.fingerprint(weights, "r") == before[0]
    assert classes.fingerprint(weights, "r") != before[1]


def test_the_shipped_shapes_classifier_is_the_pinned_one_with_the_pinned_accuracy():
    protocol = shipped("shapes-classes")
    settings = protocol.extractors["classifier"]
    path = REFERENCE_DIR / settings["weights"]
    assert sha256_file(path) == settings["sha256"]
    reference = load_shapes_split(DataRequest("test", 32, 3, options=protocol.data.options))
    assert reference.num_classes == 18 and reference.class_names[:2] == ["red circle", "red square"]
    assert classifier_accuracy(load_classifier(path), reference.images, reference.labels) == pytest.approx(
        settings["test_accuracy"], abs=5e-5)
    assert OPTIONS == {key: protocol.data.options[key] for key in OPTIONS}  # the builder trains on these data


def test_a_briefly_trained_cvae_draws_digits_the_classifier_recognises(tmp_path, capsys):
    """100 steps of the cvae's own recipe: far above chance (0.1); measured 0.91 on 500 samples."""
    results = tmp_path / "r"
    assert main(["run", "--plugin", "cvae", "--protocol", "digits-classes", "--results-dir", str(results),
                 "--set", "train.max_steps=100", *SMALL]) == 0, capsys.readouterr().err
    [path] = results.glob("*.json")
    record = read_result(path)
    metrics = record["metrics"]
    assert metrics["class_accuracy"]["value"] > 0.5 and metrics["class_accuracy"]["extras"]["chance"] == 0.1
    assert [row["samples"] for row in metrics["class_accuracy"]["extras"]["per_class"]] == [70] * 10
    assert [(row["generated"], row["reference"] > 170) for row in metrics["intra_fd"]["extras"]["per_class"]] == [
        (70, True)] * 10
    assert metrics["intra_fd"]["value"] > 0 and metrics["fd"]["interval"]["rounds"] == 200
    assert record["samples"]["labels"] == {"source": "plan", "rule": CLASS_PLAN_VERSION, "num_classes": 10,
                                           "per_class": [70] * 10, "sha256": sha256_json(balanced_class_plan(700, 10, 0))}
    assert record["samples"]["determinism"]["deterministic"]

    build_leaderboard(results, tmp_path / "site")
    page = (tmp_path / "site" / "runs" / f"{record['run_id']}.html").read_text(encoding="utf-8")
    table = page[page.index('id="per-class-heading"'):page.index("</table>", page.index('id="per-class-heading"'))]
    assert table.count('<th scope="row">') == 10 and ">class_accuracy</th>" in table and ">intra_fd</th>" in table


def test_the_rgb_protocol_runs_with_its_18_colour_and_shape_classes(tmp_path, capsys):
    """1 188 samples: 66 per class, just enough for each class's 64-d covariance."""
    assert main(["run", "--plugin", "cvae", "--protocol", "shapes-classes", "--results-dir", str(tmp_path),
                 "--set", "train.max_steps=20", "--set", "protocol.sampling.num_samples=1188", "--set",
                 "protocol.speed.repeats=1", "--set", "protocol.speed.warmup=0", "--quiet"]) == 0, \
        capsys.readouterr().err
    record = read_result(next(tmp_path.glob("*.json")))
    assert record["reference"]["class_names"][17] == "white triangle" and record["reference"]["num_images"] == 3000
    assert [row["samples"] for row in record["metrics"]["class_accuracy"]["extras"]["per_class"]] == [66] * 18
    assert record["samples"]["labels"]["per_class"] == [66] * 18 and record["metrics"]["intra_fd"]["value"] > 0


def test_the_real_images_row_compares_each_class_of_one_half_with_the_other(tmp_path, capsys):
    assert main(["reference", "--protocol", "digits-classes", "--results-dir", str(tmp_path), "--quiet"]) == 0, \
        capsys.readouterr().err
    record = read_result(next(tmp_path.glob("*.json")))
    labels = load_digits_split(DataRequest("all", 16, 1)).labels
    first, second = split_halves(len(labels), 0)
    accuracy, intra = record["metrics"]["class_accuracy"], record["metrics"]["intra_fd"]
    assert [row["samples"] for row in accuracy["extras"]["per_class"]] == class_counts(labels.tolist(), 10)
    assert accuracy["value"] > 0.99  # the classifier on the real digits, each with its own class
    assert [(row["generated"], row["reference"]) for row in intra["extras"]["per_class"]] == list(zip(
        class_counts(labels[first].tolist(), 10), class_counts(labels[second].tolist(), 10)))
    assert 0 < intra["value"] < 5 and record["metrics"]["fd"]["value"] < 1


def test_ddpm_cfg_trains_and_samples_with_guidance_and_ddim_cfg_samples_its_checkpoint(tmp_path, capsys):
    protocol = small_digits_protocol(tmp_path, "digits-classes", ("ddpm-cfg",))
    assert main(["run", "--plugin", "ddpm-cfg", "--protocol", str(protocol), "--results-dir", str(tmp_path / "ddpm"),
                 *SMALL]) == 0, capsys.readouterr().err
    ddpm = read_result(next((tmp_path / "ddpm").glob("*.json")))
    assert main(["run", "--plugin", "ddim-cfg", "--protocol", str(protocol), "--results-dir", str(tmp_path / "ddim"),
                 "--checkpoint", ddpm["plugin"]["checkpoint"], "--set", "steps=3", "--set", "guidance=1",
                 *SMALL]) == 0, capsys.readouterr().err
    ddim = read_result(next((tmp_path / "ddim").glob("*.json")))
    assert ddpm["plugin"]["settings"] == {"guidance": 2.0, "precision": "fp32"} and ddpm["training"]["steps"] == 3
    assert ddim["plugin"]["settings"] == {"steps": 3, "eta": 0.0, "guidance": 1.0, "precision": "fp32"}
    assert ddim["plugin"]["checkpoint_sha256"] == ddpm["plugin"]["checkpoint_sha256"] and ddim["training"] is None
    assert ddpm["speed"]["network_evaluations_per_image"] == 20  # the tiny 10-step schedule, two passes each
    assert ddim["speed"]["network_evaluations_per_image"] == 3  # 3 steps, the conditional pass alone
    for record in (ddpm, ddim):
        assert record["samples"]["determinism"]["deterministic"]
        assert record["samples"]["labels"]["per_class"] == [70] * 10
        assert len(record["metrics"]["class_accuracy"]["extras"]["per_class"]) == 10
        assert 0 <= record["metrics"]["class_accuracy"]["value"] <= 1 and record["metrics"]["intra_fd"]["value"] > 0
    assert ddim["metrics"]["fd"]["value"] != ddpm["metrics"]["fd"]["value"]


def tiny_guided(plugin: str = "ddpm-cfg", classes: int = 3, **config):
    spec = get_registry().model(plugin).item
    torch.manual_seed(0)
    return spec.model_class.create(ImageFormat(12, 1), {**spec.tiny_config, **config}, classes)


def test_guidance_mixes_the_conditional_and_unconditional_estimates():
    model = tiny_guided()
    noisy, step, classes = torch.randn(2, 1, 12, 12), torch.tensor(5), torch.tensor([0, 2])
    conditional = model.predict_noise(noisy, step, classes)
    unconditional = model.predict_noise(noisy, step, torch.full_like(classes, 3))
    assert not torch.allclose(conditional, unconditional)
    for scale, expected in ((1.0, conditional), (0.0, unconditional),
                            (3.0, unconditional + 3.0 * (conditional - unconditional))):
        model.configure(guidance=scale)
        assert torch.allclose(model.guided_noise(noisy, step, classes), expected, atol=1e-5)
        assert model.network_evaluations == (40 if scale == 3.0 else 20)  # the tiny 20-step schedule
    with pytest.raises(PluginError, match="guidance=-1.0 must not be negative"):
        model.configure(guidance=-1.0)


def test_condition_dropout_replaces_the_class_by_the_null_class():
    labels = torch.tensor([0, 1, 2, 1])
    assert torch.equal(tiny_guided(condition_dropout=0.0).training_classes(labels), labels)
    assert torch.equal(tiny_guided(condition_dropout=1.0).training_classes(labels), torch.full_like(labels, 3))
    torch.manual_seed(0)
    kept = tiny_guided(condition_dropout=0.5).training_classes(torch.zeros(2000, dtype=torch.long))
    assert 0.45 < float((kept == 3).double().mean()) < 0.55


@pytest.mark.parametrize("plugin", ["cvae", "ddim-cfg"])
def test_an_image_depends_on_its_seed_and_class_alone(plugin):
    model = tiny_guided(plugin)
    model.configure(**({"steps": 3, "guidance": 2.0} if plugin == "ddim-cfg" else {}))
    seeds, labels = [sample_seed(0, i) for i in range(4)], [2, 0, 1, 2]
    together = model.sample(SampleBatch(seeds, DEVICE, labels))
    for i in range(4):
        alone = model.sample(SampleBatch(seeds[i:i + 1], DEVICE, labels[i:i + 1]))[0]
        assert mean_abs_difference(alone, together[i]) <= TOLERANCE
    assert not torch.equal(model.sample(SampleBatch(seeds[:1], DEVICE, [1]))[0], together[0])  # the class counts


@pytest.mark.parametrize("plugin", ["cvae", "ddpm-cfg"])
def test_sampling_needs_classes_the_model_was_trained_on(plugin):
    model = tiny_guided(plugin)
    with pytest.raises(PluginError, match=f"plugin '{plugin}' is class-conditional: sample\\(\\) needs batch.labels"):
        model.sample(SampleBatch([1], DEVICE))
    with pytest.raises(PluginError, match=f"plugin '{plugin}' was trained on 3 classes, asked for class 3"):
        model.sample(SampleBatch([1, 2], DEVICE, [0, 3]))
    with pytest.raises(PluginError, match="needs a labelled training split"):
        get_registry().model(plugin).item.model_class.create(ImageFormat(12, 1), {}, None)


def test_a_diffusers_pipeline_folder_is_not_a_ddpm_cfg_checkpoint(tmp_path):
    (tmp_path / "pipe").mkdir()
    with pytest.raises(WeightsError, match="reads genbench checkpoints .* only, not diffusers pipelines such as 'pipe'"):
        get_registry().model("ddpm-cfg").item.model_class.load(tmp_path / "pipe", DEVICE)


def test_the_per_class_table_is_escaped_and_ignores_malformed_rows(tmp_path):
    record = make_record("classes__evil__01")
    record["reference"] = {"class_names": ["<script>alert(1)</script>", "fine"]}
    record["metrics"]["accuracy"] = {
        "metric": "class_accuracy", "extractor": "classifier", "feature": "logits", "settings": {}, "value": 0.5,
        "std": 0.1, "higher_is_better": True,
        "extras": {"per_class": [{"class": 0, "samples": 2, "accuracy": "<img src=x onerror=alert(2)>"},
                                 {"class": 1, "samples": 2, "accuracy": 0.5}, {"class": "2"}, "junk", {"class": True}]}}
    build_leaderboard(write_records(tmp_path / "results", [record]), tmp_path / "site")
    page = (tmp_path / "site" / "runs" / "classes__evil__01.html").read_text(encoding="utf-8")
    table = page[page.index('id="per-class-heading"'):page.index("</section>", page.index('id="per-class-heading"'))]
    assert "<script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in table and "&lt;img src=x onerror=alert(2)&gt;" in table
    assert table.count('<th scope="row">') == 2 and "<td>fine</td>" in table
