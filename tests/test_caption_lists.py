"""Published caption lists reused exactly: a pinned list as a COCO selection, MLPerf's 5 000 captions shipped with
their source, and the mlperf-sdxl protocol's FID and CLIP-score definitions."""

from __future__ import annotations

import copy
import hashlib
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from test_captioned_data import make_coco

from genbench.datasets.base import DataRequest
from genbench.datasets.caption_lists import FOLDER, SHIPPED, read_caption_list
from genbench.datasets.coco import load_coco
from genbench.datasets.reference_file import load_reference_file
from genbench.errors import DataError, MetricError
from genbench.evaluation.reference_plan import plan_reference
from genbench.metrics.base import MetricInputs
from genbench.metrics.clip_score import clip_score_from_inputs
from genbench.protocols.conditions import plan_conditions
from genbench.protocols.protocol import parse_protocol
from genbench.registry import load_registry

MLPERF = "mlperf-sdxl-coco2014-5000"


def write_list(path: Path, rows: list[tuple[int, int | None, str]]) -> tuple[Path, str]:
    """A caption list (with caption ids when given) and its SHA-256."""
    header = "id\timage_id\tcaption\n" if rows[0][1] is not None else "image_id\tcaption\n"
    body = "".join((f"{c}\t{i}\t{t}\n" if c is not None else f"{i}\t{t}\n") for i, c, t in rows)
    path.write_text(header + body, encoding="utf-8")
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_pinned_caption_list_is_the_coco_selection_in_its_own_order(tmp_path):
    make_coco(tmp_path)
    rows = [(105, 5001, "image 5 caption 1"), (102, 2000, "image 2 caption 0"), (109, 9002, "image 9 caption 2")]
    path, digest = write_list(tmp_path / "paper.tsv", rows)
    options = {"caption_list": str(path), "caption_list_sha256": digest}
    data = load_coco(DataRequest("val", 16, 3, root=tmp_path, options=options))
    assert data.captions == [caption for _, _, caption in rows]
    assert [int(image.float().mean().round()) for image in data.images] == [50, 20, 90]  # image i is grey 10*i
    assert [(r["image_id"], r["caption_id"]) for r in data.selection] == [("105", "5001"), ("102", "2000"),
                                                                         ("109", "9002")]
    again = load_coco(DataRequest("val", 16, 3, root=tmp_path, options={**options, "num_captions": 3}))
    assert again.info["selection_sha256"] == data.info["selection_sha256"]

    with pytest.raises(DataError, match=r"caption list .*paper.tsv is not one genbench ships .*: pin it in \[data\] "
                                        r"as caption_list_sha256 = \"<its SHA-256>\""):
        load_coco(DataRequest("val", 16, 3, root=tmp_path, options={"caption_list": str(path)}))
    with pytest.raises(DataError, match=f"has SHA-256 {digest}, expected {'0' * 64}"):
        load_coco(DataRequest("val", 16, 3, root=tmp_path, options={**options, "caption_list_sha256": "0" * 64}))
    with pytest.raises(DataError, match="has 3 captions, the protocol's num_captions is 5"):
        load_coco(DataRequest("val", 16, 3, root=tmp_path, options={**options, "num_captions": 5}))


def test_a_list_naming_what_the_annotations_lack_is_refused(tmp_path):
    make_coco(tmp_path)
    for rows, problem in [([(999, None, "an image COCO lacks")], "image 999 is not in"),
                          ([(105, 2000, "caption 2000 belongs to image 102")], "caption 2000 of image 105 is not in")]:
        path, digest = write_list(tmp_path / "bad.tsv", rows)
        with pytest.raises(DataError, match=problem):
            load_coco(DataRequest("val", 16, 3, root=tmp_path,
                                  options={"caption_list": str(path), "caption_list_sha256": digest}))
    (tmp_path / "columns.tsv").write_text("image\ttext\n1\ta\n", encoding="utf-8")
    digest = hashlib.sha256((tmp_path / "columns.tsv").read_bytes()).hexdigest()
    with pytest.raises(DataError, match="has no 'image_id' column"):
        read_caption_list(str(tmp_path / "columns.tsv"), digest)


def test_mlperfs_5000_captions_ship_with_their_source_and_licence():
    listed = read_caption_list(MLPERF, None)
    assert len(listed.rows) == 5000 and len({row.image_id for row in listed.rows}) == 5000
    assert listed.rows[0].image_id == 227049 and listed.rows[0].caption_id == 70
    assert listed.rows[0].caption == "A city at night with people walking around."
    assert listed.sha256 == SHIPPED[MLPERF][1]
    notes = (FOLDER / "README.md").read_text(encoding="utf-8")
    assert SHIPPED[MLPERF][1] in notes and "mlcommons/inference" in notes and "Creative Commons Attribution" in notes
    assert "55bebbfcb2a82ee64048674a2d9862ee0ab672eb" in notes


def test_mlperf_sdxl_reads_its_statistics_in_pytorch_fids_space_and_captions_in_list_order(tmp_path):
    registry = load_registry()
    protocol = registry.protocol("mlperf-sdxl")
    rows = np.random.default_rng(0).normal(size=(3000, 2048))
    np.savez_compressed(tmp_path / "val2014.npz", mu=rows.mean(0), sigma=np.cov(rows, rowvar=False))
    request = DataRequest("reference", 1024, 3, tmp_path, protocol.data.options)
    reference = load_reference_file(request)
    extractors = {"inception": SimpleNamespace(identity="pytorch-fid"), "clip": SimpleNamespace(identity="clip")}

    plan = plan_reference(protocol, registry, extractors, reference)

    assert plan.extractors == () and set(plan.statistics) == {"fid"}
    assert plan.describe()["fid"]["space"] == "cleanfid/2048 (mode=legacy_pytorch)"
    assert "[data] statistics.mu" in plan.describe()["fid"]["how_known"]
    conditions = plan_conditions(protocol, reference)
    listed = read_caption_list(MLPERF, None)
    assert conditions.captions == [row.caption for row in listed.rows]
    raw = copy.deepcopy(protocol.raw)
    del raw["data"]["statistics"]
    undeclared = parse_protocol(raw, source="mlperf-sdxl without [data] statistics")
    with pytest.raises(MetricError, match=r"metric 'fid' \(fid\) compares with the reference in cleanfid/2048 "
                                          r"\(mode=legacy_pytorch\) and .* has no statistics there \(it has mu: "
                                          r"inception/2048\)"):
        plan_reference(undeclared, registry, extractors, reference)


def test_mlperfs_clip_score_is_100_times_the_mean_cosine_without_a_clamp():
    image = torch.nn.functional.normalize(torch.randn(6, 8, generator=torch.Generator().manual_seed(0)), dim=1)
    text = torch.cat([image[:3], -image[3:]])  # three cosines of 1, three of -1
    inputs = MetricInputs({"image": image, "text": text}, None, {"feature": "image", "text_feature": "text",
                                                                 "definition": "mlperf"})
    assert clip_score_from_inputs(inputs).value == pytest.approx(0.0, abs=1e-9)
    clamped = clip_score_from_inputs(MetricInputs(inputs.generated, None, {**inputs.settings,
                                                                          "definition": "torchmetrics"}))
    assert clamped.value == pytest.approx(50.0) and not math.isclose(clamped.value, 0.0)
