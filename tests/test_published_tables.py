"""The papers' rows next to a user's run: every shipped reported row names a shipped protocol and only its metric keys,
cites its source, and the paper-table export puts the ADM evaluator's five numbers in the field's column order."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from genbench.leaderboard.reported import read_reported_dir, read_reported_file
from genbench.leaderboard.site import build_leaderboard, export_tables
from genbench.registry import load_registry

REPORTED = Path(__file__).parent.parent / "leaderboards" / "reported"
PAPERS = {"imagenet-adm": "2105.05233", "imagenet-ldm": "2112.10752", "imagenet-dit": "2212.09748",
          "imagenet-sit": "2401.08740", "imagenet-mar": "2406.11838", "imagenet-var": "2404.02905",
          "imagenet-edm2": "2312.02696"}


@pytest.mark.parametrize("stem", [*PAPERS, "mlperf-sdxl"])
def test_each_paper_cites_itself_and_its_rows_fit_a_shipped_protocol(stem):
    registry = load_registry()
    rows = read_reported_file(REPORTED / f"{stem}.toml")
    assert rows
    for row in rows:
        protocol = registry.protocol(row["protocol"]["name"])
        keys = {entry.key: entry.metric for entry in protocol.metrics}
        assert set(row["metrics"]) <= set(keys), (row["plugin"]["name"], set(row["metrics"]) - set(keys))
        assert all(metric["metric"] == keys[key] for key, metric in row["metrics"].items())
        assert row["reported"]["measured_as"], "every row says how it was measured (evaluator, reference)"
        if stem in PAPERS:
            assert row["reported"]["url"] == f"https://arxiv.org/abs/{PAPERS[stem]}"


def test_the_paper_table_export_uses_the_fields_column_order():
    table = export_tables(None, REPORTED, "md", "quality", "imagenet256")
    header = next(line for line in table.splitlines() if line.startswith("| model"))
    assert re.findall(r"(\w+) [↑↓]", header) == ["fid", "sfid", "is", "precision", "recall"]
    assert re.search(r"\| DiT-XL/2-G \(cfg=1\.50\) \(reported\) *\| 2\.27 *\| 4\.60 *\| 278\.24 *\| 0\.83 *\| 0\.57 *\|",
                     table)
    assert re.search(r"\| ADM-G, ADM-U \(reported\) *\| 3\.94 *\| 6\.14 *\| 215\.84 *\| 0\.83 *\| 0\.53 *\|", table)
    csv_header = export_tables(None, REPORTED, "csv", "quality", "imagenet512").splitlines()[0]
    assert [c for c in csv_header.split(",") if not c.endswith("_std")][5:] == [
        "fid", "sfid", "is", "precision", "recall", "fd_dinov2"]


def test_the_imagenet256_page_shows_the_published_rows_with_their_citations(tmp_path):
    build_leaderboard(None, tmp_path / "site", REPORTED)
    (page,) = (tmp_path / "site" / "protocols").glob("imagenet256--*.html")
    text = html.unescape(page.read_text(encoding="utf-8"))
    for source in ("Source: Dhariwal & Nichol, Diffusion Models Beat GANs on Image Synthesis, NeurIPS 2021, Table 6",
                   "Source: Peebles & Xie, Scalable Diffusion Models with Transformers, ICCV 2023, Tables 2 and 3",
                   "Source: Rombach et al., High-Resolution Image Synthesis with Latent Diffusion Models, CVPR 2022, Table 3"):
        assert source in text
    assert "ADM's TensorFlow evaluator against VIRTUAL_imagenet256_labeled.npz" in text
    assert "FID by torch-fidelity against the whole ImageNet training set" in text
    shipped = {row["protocol"]["name"] for row in read_reported_dir(REPORTED)}
    assert {"imagenet256", "imagenet512", "mlperf-sdxl"} <= shipped
