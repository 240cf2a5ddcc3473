"""The text-to-image path for real: a throwaway caption-painting plugin on the embedded shapes protocol."""

from __future__ import annotations

import json
import sys
import tomllib

import numpy as np
import pytest
import torch
from PIL import Image

from genbench.cli import main
from genbench.datasets.base import DataRequest, ImageDataset
from genbench.datasets.shapes import load_shapes_split
from genbench.errors import MetricError, ProtocolError
from genbench.extractors.open_clip_models import load_clip, weights_file
from genbench.metrics.base import MetricInputs
from genbench.metrics.diversity import CAPTION_DIVERSITY, group_diversities
from genbench.protocols.conditions import caption_groups, plan_conditions
from genbench.protocols.protocol import builtin_protocol_files, parse_protocol
from genbench.runner import run
from genbench.runner.gallery import gallery_seeds
from genbench.trust.determinism import FIRST_BATCH, SECOND_BATCH

PAINTER = '''
import torch

from genbench import hookimpl
from genbench.models.checkpoints import load_checkpoint, save_checkpoint
from genbench.datasets.shapes import COLOURS, POSITIONS
from genbench.models.base import GenerativeModel, ImageFormat, ModelSpec, Task, TrainingReport

RECEIVED = []
TRAINED_ON = []


class CaptionPainter(GenerativeModel):
    """Paints a disc of the caption's colour where the caption says, jittered by each image's noise."""

    task = Task.TEXT_TO_IMAGE
    settings = {"collapse": False}

    def __init__(self, size):
        super().__init__()
        self.size = size

    @classmethod
    def create(cls, image_format, config, num_classes=None):
        return cls(image_format.size)

    @classmethod
    def load(cls, path, device):
        return cls(load_checkpoint(path, "painter").config["size"])

    def save(self, path):
        save_checkpoint(path, "painter", {"size": self.size}, {})

    def train(self, data, recipe, seed, device, progress=True):
        TRAINED_ON.extend(data.captions)
        return TrainingReport(epochs=1, steps=0, seconds=0.0, seconds_per_epoch=0.0, final_loss=0.0)

    def truncated_captions(self, captions):
        return sum("circle" in c for c in captions)  # as if its encoder cut every caption naming a circle

    def sample(self, batch):
        RECEIVED.extend(batch.captions)
        noise = batch.randn(3) * (0.0 if self.setting_values["collapse"] else 1.0)
        s = self.size
        yy, xx = torch.meshgrid(torch.arange(s), torch.arange(s), indexing="ij")
        images = torch.full((len(batch), 3, s, s), 20, dtype=torch.uint8)
        for i, caption in enumerate(batch.captions):
            colour = next((c for c in COLOURS if f" {c} " in caption), "white")
            cx, cy = POSITIONS[next((p for p in POSITIONS if caption.endswith(p)), "in the centre")]
            radius = s * (0.2 if "large" in caption else 0.12) * (1 + 0.2 * noise[i, 2])
            mask = (xx - cx * s - 2 * noise[i, 0]) ** 2 + (yy - cy * s - 2 * noise[i, 1]) ** 2 <= radius ** 2
            images[i][:, mask] = torch.tensor(COLOURS[colour], dtype=torch.uint8)[:, None]
        return images

    @property
    def image_format(self):
        return ImageFormat(self.size, 3)

    def modules(self):
        return {}


@hookimpl
def genbench_models():
    return [ModelSpec(name="painter", model_class=CaptionPainter, description="paints the caption")]
'''

FAST = {"protocol.sampling.num_samples": "200", "protocol.speed.repeats": "1", "protocol.speed.warmup": "0"}


def test_caption_diversity_is_mean_pairwise_cosine_distance():
    features = torch.randn(7, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    features[4:] = features[4]  # group 4: three identical rows, a collapsed caption
    groups = torch.tensor(caption_groups(["a", "b", "a", "a", "c", "c", "c"]))
    assert groups.tolist() == [0, 1, 0, 0, 4, 4, 4]
    unit = features / features.norm(dim=1, keepdim=True)
    rows = unit[[0, 2, 3]]
    expected_a = float((1 - rows @ rows.T)[torch.triu_indices(3, 3, 1).unbind()].mean())
    per_group = group_diversities(features, groups)
    assert set(per_group) == {0, 4}
    assert per_group[0] == pytest.approx(expected_a, rel=1e-12)
    assert per_group[4] == pytest.approx(0.0, abs=1e-12)
    settings = {**CAPTION_DIVERSITY.defaults, "feature": "image"}
    value = CAPTION_DIVERSITY.compute(MetricInputs({"image": features}, None, settings, groups=groups))
    assert value.value == pytest.approx(expected_a / 2, rel=1e-12)
    assert value.extras["share_collapsed"] == 0.5 and value.extras["captions"] == 2
    with pytest.raises(MetricError, match=r"no caption has two or more of the 2 images; set sampling.samples_per"):
        CAPTION_DIVERSITY.compute(MetricInputs({"image": features[:2]}, None, settings, groups=torch.tensor([0, 1])))


def read_png(path) -> torch.Tensor:
    return torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1)


def test_shapes_run_end_to_end(plugin_installer, tmp_path):
    plugin_installer.install("painter-gen", "painter", "t2i_painter", PAINTER)
    results = tmp_path / "results"
    record = run(plugin="painter", protocol="shapes", results_dir=results, quiet=True, save_samples=True,
                 settings=FAST)
    painter = sys.modules["t2i_painter"]
    reference = load_shapes_split(DataRequest("test", 32, 3, options={"test_size": 1000}))
    # captions reach the plugin unchanged and in order (training and sampling); the gallery's prompts follow
    assert painter.TRAINED_ON == load_shapes_split(DataRequest("train", 32, 3, options={"train_size": 4000})).captions
    # the determinism probe asks first for images 0 and 1: [0, 1, 0, 1], then [1, 0]
    probe = [reference.captions[i] for i in (*FIRST_BATCH, *SECOND_BATCH)]
    assert painter.RECEIVED[:len(probe)] == probe
    assert painter.RECEIVED[len(probe):len(probe) + 200] == reference.captions[:200]
    assert set(record["metrics"]) == {"fd", "kid", "density", "coverage", "clip_score", "diversity", "vendi"}
    assert record["metrics"]["vendi"]["extras"]["captions"] == record["metrics"]["diversity"]["extras"]["captions"]
    assert record["metrics"]["fd"]["interval"]["rounds"] == 200 and record["metrics"]["coverage"]["interval"] is None
    assert record["samples"]["samples_per_caption"] == 1
    run_captions = reference.captions[:record["samples"]["num_samples"]]
    assert record["samples"]["captions_truncated_by_model"] == sum("circle" in c for c in run_captions) > 0
    clip_score = record["metrics"]["clip_score"]
    assert clip_score["extras"]["definition"] == "torchmetrics" and clip_score["extras"]["truncated_captions"] == 0

    # the CLIP score equals open_clip on the saved samples with the captions they were made from
    clip = load_clip("genbench-shapes-clip", weights_file("shapes_clip.safetensors", None))
    samples = torch.stack([read_png(results / record["artifacts"]["samples_dir"] / f"{i:06d}.png")
                           for i in range(200)])
    cosine = (clip.encode_images(samples).double() * clip.encode_texts(reference.captions[:200]).double()).sum(1)
    assert clip_score["value"] == pytest.approx(float(100 * cosine.clamp(min=0).mean()), rel=1e-5)

    gallery = record["artifacts"]["gallery"]
    assert [g["prompt"] for g in gallery] == ["a large red circle in the centre", "a small blue square on the left",
                                              "a large green triangle at the top", "a small yellow circle at the bottom"]
    assert all(g["seeds"] == gallery_seeds(8) for g in gallery)
    grid = Image.open(results / gallery[0]["file"])
    assert grid.size == (2 * (8 * 33 + 1), 2 * 34)  # one row of 8, upscaled 2x
    assert painter.RECEIVED[-32:] == [p for g in gallery for p in [g["prompt"]] * 8]
    assert all(g["diversity"] > 1e-4 for g in gallery)
    assert record["metrics"]["diversity"]["value"] > 1e-4

    collapsed = run(plugin="painter", protocol="shapes", results_dir=results, quiet=True,
                    settings={**FAST, "collapse": "true"})
    assert collapsed["metrics"]["diversity"]["value"] == pytest.approx(0.0, abs=1e-9)
    assert collapsed["metrics"]["diversity"]["extras"]["share_collapsed"] == 1.0
    assert collapsed["metrics"]["vendi"]["value"] == pytest.approx(1.0)  # one distinct image per caption
    assert all(g["diversity"] == pytest.approx(0.0, abs=1e-9) for g in collapsed["artifacts"]["gallery"])
    assert collapsed["reference"]["cache_hits"] == {"clip": True}

    # the real-image reference row: same fingerprint, FD of halves far below the painter's
    assert main(["reference", "--protocol", "shapes", "--results-dir", str(results), "--quiet"]) == 0
    row = json.loads(next(results.glob("shapes__real-images__*.json")).read_text(encoding="utf-8"))
    assert row["plugin"]["name"] == "real-images" and row["samples"]["halves"] == [500, 500]
    assert row["protocol"]["fingerprint"] != record["protocol"]["fingerprint"]  # the run changed num_samples
    assert row["metrics"]["fd"]["value"] < record["metrics"]["fd"]["value"]
    assert row["metrics"]["clip_score"]["value"] > record["metrics"]["clip_score"]["value"]
    assert row["metrics"]["diversity"]["value"] > 0


def test_samples_per_caption_and_prompts_are_validated():
    files = {p.stem: p for p in builtin_protocol_files()}
    raw = tomllib.loads(files["shapes"].read_text(encoding="utf-8"))
    raw["sampling"].update(samples_per_caption=3, num_samples=7)
    protocol = parse_protocol(raw)
    reference = ImageDataset(torch.zeros(2, 3, 32, 32, dtype=torch.uint8), captions=["a", "b"])
    assert plan_conditions(protocol, reference).captions == ["a", "a", "a", "b", "b", "b", "a"]
    assert protocol.gallery_samples == 8 and "gallery" not in protocol.definition()
    cosmetic = {**raw, "prompts": ["a cat"], "gallery": {"samples_per_prompt": 2}}
    assert parse_protocol(cosmetic).fingerprint({}, "r") == protocol.fingerprint({}, "r")
    digits = tomllib.loads(files["digits"].read_text(encoding="utf-8"))
    with pytest.raises(ProtocolError, match=r"field 'prompts' needs task 'text-to-image', not 'unconditional'"):
        parse_protocol({**digits, "prompts": ["a cat"]})
    digits["sampling"]["samples_per_caption"] = 2
    with pytest.raises(ProtocolError, match=r"field 'sampling.samples_per_caption' needs conditions = 'captions'"):
        parse_protocol(digits)
