"""Intervals on the leaderboard: `value [low, high]` in tables, error bars, overlaps named, every number explained."""

from __future__ import annotations

from leaderboard_records import make_record, write_records

from genbench.leaderboard import build_leaderboard
from genbench.leaderboard.explanations import explain
from genbench.leaderboard.grouping import group_records
from genbench.leaderboard.intervals import indistinguishable, overlaps
from genbench.leaderboard.pages import GroupTables, speed_plots
from genbench.storage.results import flatten


def with_interval(record, key, low, high, rounds=200):
    record["metrics"][key]["interval"] = {"low": low, "high": high, "level": 0.95, "rounds": rounds, "seed": 0,
                                          "std": (high - low) / 4, "method": "percentile bootstrap"}
    return record


def records():
    return [with_interval(make_record("digits__a__1", "a", fd=10.0, seconds_per_image=0.01), "fd", 9.0, 11.0),
            with_interval(make_record("digits__b__1", "b", fd=10.5, seconds_per_image=0.001), "fd", 10.0, 12.0),
            with_interval(make_record("digits__c__1", "c", fd=20.0, seconds_per_image=0.1), "fd", 19.0, 21.0)]


def test_intervals_reach_rows_tables_and_csv():
    assert {k: v for k, v in flatten(records()[0]).items() if k.startswith("fd")} == \
        {"fd": 10.0, "fd_std": None, "fd_low": 9.0, "fd_high": 11.0}
    tables = GroupTables.of(group_records(records())[0])
    markdown = tables.markdown(["quality"])
    assert "| a       | 10.00 [9.00, 11.00]  |" in markdown and "20.00 [19.00, 21.00]" in markdown
    header = tables.csv("quality").splitlines()[0]
    assert header == "protocol,fingerprint,run_id,status,model,fd,fd_std,fd_low,fd_high,kid,kid_std,confidence,confidence_std"


def test_speed_plot_draws_error_bars_and_names_the_interval():
    tables = GroupTables.of(group_records(records())[0])
    svg = str(next(p["svg"] for p in speed_plots(tables, "../") if p["file"].endswith("speed-fd.svg")))
    assert svg.count('class="gb-errorbar"') == 3
    assert "<title>a: fd ↓ 10 [9, 11], 0.01 s/image (Pareto front)</title>" in svg
    kid_svg = str(next(p["svg"] for p in speed_plots(tables, "../") if p["file"].endswith("speed-kid.svg")))
    assert "gb-errorbar" not in kid_svg.split("</style>")[1]  # no interval, no bar


def test_overlapping_intervals_are_the_indistinguishable_pairs():
    assert overlaps((9, 11), (11, 12)) and not overlaps((9, 11), (11.5, 12))
    tables = GroupTables.of(group_records(records())[0])
    (fd,) = indistinguishable(tables.frame.to_dict("records"), tables.metrics)
    assert fd["metric"] == "fd ↓" and [(a["label"], b["label"]) for a, b in fd["pairs"]] == [("a", "b")]


def test_protocol_page_marks_overlaps_and_run_pages_explain_every_number(tmp_path):
    results = write_records(tmp_path / "results", records())
    build_leaderboard(results, tmp_path / "site")
    page = (tmp_path / "site/protocols/digits--fp1.html").read_text(encoding="utf-8")
    assert ('<li><strong>fd ↓</strong>: not distinguishable: <a href="../runs/digits__a__1.html">a</a> and '
            '<a href="../runs/digits__b__1.html">b</a></li>') in page
    run_page = (tmp_path / "site/runs/digits__c__1.html").read_text(encoding="utf-8")
    assert '<td class="num">20.00 [19.00, 21.00]</td>' in run_page
    assert ("Fréchet distance between Gaussians fitted to the generated and reference classifier features "
            "(penultimate) (torch-fidelity). [low, high] is a 95 % bootstrap interval over 200 "
            "resamplings (with replacement) of the generated and reference features, seed 0: the rounds&#39; "
            "spread centred on the value.") in run_page
    assert "± is the standard deviation over the subsets." in run_page  # KID's spread


def test_explanations_name_estimator_space_and_source():
    cmmd = {"metric": "cmmd", "extractor": "clip_image", "feature": "image", "std": None,
            "extras": {"estimator": "biased (minimum-variance) MMD², diagonal terms included"}}
    text = explain(cmmd, {"kind": "clip-image", "model": "ViT-L-14-336"})
    assert text == ("CMMD (Jayasumana et al. 2024): 1000 × MMD² with a Gaussian RBF kernel (σ = 10) on clip-image "
                    "ViT-L-14-336 features (image). Estimator: biased (minimum-variance) MMD², diagonal terms "
                    "included.")
    assert explain({"metric": "fid", "value": 3.0}, {}) == "as reported by its source; genbench did not compute it"
