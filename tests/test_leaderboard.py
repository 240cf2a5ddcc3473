"""Leaderboard builder: grouping, ranking, best values, escaping, exports, determinism, reported rows."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from leaderboard_records import definition, demo_records, make_record, write_records

from genbench.cli import main
from genbench.errors import ResultsError
from genbench.leaderboard import build_leaderboard, export_tables, formatting, plots
from genbench.leaderboard.artifacts import GalleryImage, gallery_images, read_artifact
from genbench.leaderboard.grouping import Change, definition_changes, group_differences, group_records, slug
from genbench.leaderboard.pages import GroupTables, sort_value, speed_plots
from genbench.leaderboard.reported import read_reported_dir
from genbench.leaderboard.tables import Column, best_flags, group_frame, model_label
from genbench.storage.results import flatten

REPORTED_TOML = """\
source = "a paper"
[[rows]]
protocol = "digits"
model = "real images"
measured_as = "train split against test split"
metrics = { fd = 0.57, kid = { value = -0.007, std = 0.037 } }
"""


@pytest.fixture
def site_inputs(tmp_path):
    results = write_records(tmp_path / "results", demo_records())
    reported = tmp_path / "reported"
    reported.mkdir()
    (reported / "paper.toml").write_text(REPORTED_TOML, encoding="utf-8")
    return results, reported


def _groups(records):
    return {(g.name, g.fingerprint): g for g in group_records(records)}


def test_records_are_grouped_by_fingerprint_and_reported_rows_join_the_primary_group(site_inputs):
    results, reported = site_inputs
    groups = group_records(demo_records() + read_reported_dir(reported))
    assert [(g.name, g.fingerprint, len(g.measured), len(g.reported)) for g in groups] == [
        ("digits", "fp1", 7, 1), ("digits", "fp2", 1, 0)]
    assert groups[0].slug == "digits--fp1"


def test_reported_rows_of_an_unmeasured_protocol_get_their_own_page():
    row = make_record("reported__x__01", "LDM", protocol="coco5k", fingerprint=None, status="reported")
    groups = group_records(demo_records() + [row])
    assert [(g.name, g.fingerprint) for g in groups] == [("coco5k", None), ("digits", "fp1"), ("digits", "fp2")]
    assert groups[0].slug == "coco5k--reported"


def test_definition_differences_name_the_changed_keys():
    changed = definition(**{"sampling.num_samples": 400, "metrics.kid.subsets": 50})
    assert definition_changes(definition(), changed) == [
        Change("metrics.kid.subsets", None, 50), Change("sampling.num_samples", 1000, 400)]
    groups = _groups(demo_records())
    assert group_differences(groups["digits", "fp1"], groups["digits", "fp2"]) == [
        Change("sampling.num_samples", 1000, 400)]


def test_reported_rows_naming_an_unmeasured_fingerprint_get_their_own_group(tmp_path):
    (tmp_path / "r.toml").write_text(REPORTED_TOML.replace('protocol = "digits"', 'protocol = "digits"\nfingerprint = "fpR"'))
    groups = _groups(demo_records() + read_reported_dir(tmp_path))
    assert (len(groups["digits", "fpR"].reported), len(groups["digits", "fp1"].reported)) == (1, 0)
    assert group_differences(groups["digits", "fp1"], groups["digits", "fpR"]) == []


def test_version_and_extractor_weights_are_named_when_they_differ():
    newer = make_record("b", fingerprint="fp3", protocol_definition=definition(version=2))
    groups = _groups([make_record("a"), newer])
    assert group_differences(groups["digits", "fp1"], groups["digits", "fp3"]) == [Change("version", 1, 2)]
    other_weights = make_record("c", fingerprint="fp4")
    other_weights["extractors"]["classifier"]["weights_sha256"] = "0000"
    groups = _groups([make_record("a"), other_weights])
    assert group_differences(groups["digits", "fp1"], groups["digits", "fp4"]) == [
        Change("extractors.classifier.weights_sha256", "57f0811", "0000")]


def test_rows_are_ranked_by_the_first_metric_and_reported_rows_are_never_ranked(site_inputs):
    _, reported = site_inputs
    groups = group_records(demo_records() + read_reported_dir(reported))
    frame = group_frame(groups[0])
    assert list(frame["run_id"]) == ["digits__ddpm__1", "digits__ddim__100", "digits__ddim__050", "digits__ddim__020",
                                     "digits__ddim__010", "digits__vae__1", "digits__evil__1", "reported__paper__01"]
    assert list(frame["rank"].iloc[:7]) == [1, 2, 3, 4, 5, 6, 7]
    assert frame["rank"].iloc[7] is pd.NA
    # the reported FD 0.57 is lower than every measured one, yet it is not marked best
    assert list(best_flags(frame, Column("fd", "fd", higher_is_better=False))) == [True] + [False] * 7


def test_best_values_respect_each_direction(site_inputs):
    _, reported = site_inputs
    frame = group_frame(group_records(demo_records() + read_reported_dir(reported))[0])
    marked = {key: list(frame.loc[best_flags(frame, Column(key, key, higher_is_better=hib)), "run_id"])
              for key, hib in (("confidence", True), ("seconds_per_image", False), ("images_per_second", True),
                               ("kid", False))}
    assert marked == {"confidence": ["digits__ddpm__1"], "seconds_per_image": ["digits__evil__1"],
                      "images_per_second": ["digits__evil__1"], "kid": ["digits__ddpm__1"]}
    assert not best_flags(frame, Column("parameters_all", "parameters")).any()


def test_a_higher_is_better_first_metric_ranks_descending():
    records = [make_record(f"r{i}", f"m{i}", confidence=c) for i, c in enumerate((0.5, 0.9, 0.7))]
    for record in records:
        del record["metrics"]["fd"], record["metrics"]["kid"]
    frame = group_frame(group_records(records)[0])
    assert list(frame["label"]) == ["m1", "m2", "m0"]


def test_ties_share_a_rank_and_are_all_marked_best():
    frame = group_frame(group_records([make_record("a", "x", fd=2.0), make_record("b", "y", fd=2.0),
                                       make_record("c", "z", fd=3.0)])[0])
    assert list(frame["rank"]) == [1, 1, 3]
    assert list(best_flags(frame, Column("fd", "fd", higher_is_better=False))) == [True, True, False]


def test_plugin_names_are_escaped_everywhere(site_inputs, tmp_path):
    results, reported = site_inputs
    out = tmp_path / "site"
    build_leaderboard(results, out, reported)
    texts = {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8")
             for p in out.rglob("*") if p.suffix in (".html", ".svg")}
    assert all("<script>alert" not in text for text in texts.values())
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in texts["protocols/digits--fp1.html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in texts["plots/digits--fp1.speed-fd.svg"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in texts[f"runs/{slug('digits__evil__1')}.html"]
    assert texts["index.html"].count("<script") == 1  # only the shipped sort.js


def test_hostile_run_ids_and_protocol_names_become_safe_file_names():
    assert slug("digits__vae__1") == "digits__vae__1"
    assert slug("../../etc/passwd") == "etc-passwd-" + __import__("hashlib").sha256(b"../../etc/passwd").hexdigest()[:8]
    assert "/" not in slug("a/b") and slug("a/b") != slug("a-b")


def test_site_pages_link_runs_and_reported_rows_sit_in_their_own_unranked_body(site_inputs, tmp_path):
    results, reported = site_inputs
    out = tmp_path / "site"
    summary = build_leaderboard(results, out, reported)
    assert (summary.protocols, summary.runs, summary.reported) == (2, 8, 1)
    page = (out / "protocols/digits--fp1.html").read_text(encoding="utf-8")
    ranked, reported_body = page.split('<tbody class="reported-rows">')
    assert "real images" not in ranked and "real images" in reported_body
    assert "not ranked</span>" not in ranked  # measured runs carry no badge (pandas' NaN is no reason)
    assert reported_body.count('class="num best"') == 0 and ">reported<" in reported_body
    assert 'href="../runs/digits__ddpm__1.html"' in ranked
    assert "<code>sampling.num_samples</code>: 1000 here, 400 there" in page
    assert "<summary>Quality as Markdown</summary><pre>| model " in page
    assert "| real images (reported)          | 0.57   | -0.007 ± 0.037 | –" in page
    assert "| &amp;lt;script&gt;alert(1)&amp;lt;/script&gt; | 30.00  |" in page  # Markdown source, HTML-escaped
    assert (out / "runs/digits__vae__1.assets/grid.png").read_bytes() == (results / "digits__vae__1.grid.png").read_bytes()
    run_page = (out / "runs/digits__vae__1.html").read_text(encoding="utf-8")
    assert 'src="../runs/digits__vae__1.assets/grid.png"' in run_page
    assert "genbench run --plugin vae --protocol digits" in run_page
    assert "10.5 s: 60 epochs, 1,380 steps, 0.175 s per epoch" in run_page
    assert run_page.count('class="gb-bar"') == 4  # the confidence histogram's bins
    assert {p.name for p in (out / "plots").iterdir()} == {
        f"digits--{fp}.{kind}-{m}.svg" for fp, kind, m in
        [("fp1", "speed", m) for m in ("fd", "kid", "confidence")]
        + [("fp1", "steps", m) for m in ("fd", "kid", "confidence")]
        + [("fp2", "speed", m) for m in ("fd", "kid", "confidence")]}


def test_the_build_is_deterministic_and_incremental(site_inputs, tmp_path):
    results, reported = site_inputs
    first, second = tmp_path / "a", tmp_path / "b"
    build_leaderboard(results, first, reported)
    build_leaderboard(results, second, reported)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)
    again = build_leaderboard(results, first, reported)
    assert (again.written, again.unchanged, again.removed) == (0, len(files) - 2, 0)  # not the manifest, the lock
    (results / "digits__evil__1.json").unlink()
    after = build_leaderboard(results, first, reported)
    assert not (first / "runs/digits__evil__1.html").exists() and after.removed == 1


def test_markdown_and_csv_exports(tmp_path):
    results = write_records(tmp_path / "results", [make_record("a", "vae", fd=15.25, kid=0.35, confidence=0.9),
                                                    make_record("b", "ddpm", fd=4.5, kid=0.02, confidence=0.95)])
    reported = tmp_path / "reported"
    reported.mkdir()
    (reported / "paper.toml").write_text(REPORTED_TOML, encoding="utf-8")
    assert export_tables(results, reported, "md", "quality") == (
        "## digits v1 — fingerprint fp1\n\n### Quality\n\n"
        "| model                  | fd ↓   | kid ↓          | confidence ↑   |\n"
        "|:-----------------------|:-------|:---------------|:---------------|\n"
        "| ddpm                   | 4.50   | 0.02 ± 0.002   | 0.95 ± 0.1     |\n"
        "| vae                    | 15.25  | 0.35 ± 0.035   | 0.9 ± 0.1      |\n"
        "| real images (reported) | 0.57   | -0.007 ± 0.037 | –              |\n")
    csv = pd.read_csv(io.StringIO(export_tables(results, reported, "csv", "quality")))
    assert list(csv.columns) == ["protocol", "fingerprint", "run_id", "status", "model", "fd", "fd_std", "kid",
                                 "kid_std", "confidence", "confidence_std"]
    assert list(csv["run_id"]) == ["b", "a", "reported__paper__01"]
    assert list(csv["status"]) == ["measured", "measured", "reported"]
    assert csv["kid_std"].tolist()[:2] == pytest.approx([0.002, 0.035]) and csv["kid"].iloc[2] == -0.007


SEED_004 = """\
source = "seed 004: master's thesis, 2023"
[[rows]]
protocol = "coco5k"
model = "LDM"
seconds_per_image = 5
parameters = { all = 89_000_000, trainable = 24_000_000 }
training = { seconds_per_epoch = 900, epochs = 400, batch_size = 256 }
metrics = { fid = { value = 157.49, higher_is_better = false }, is = { value = 2.42, higher_is_better = true } }
[[rows]]
protocol = "coco5k"
model = "GALIP"
seconds_per_image = 1
parameters = { all = 320_000_000, trainable = 160_000_000 }
training = { seconds_per_epoch = 3000, epochs = 100, batch_size = 256 }
metrics = { fid = 170.84, is = 1.97 }
[[rows]]
protocol = "coco5k"
model = "real images"
metrics = { fid = 6.09, is = 34.88 }
"""


def test_seed_004_tables_come_out_of_reported_rows(tmp_path):
    reported = tmp_path / "reported"
    reported.mkdir()
    (reported / "seed004.toml").write_text(SEED_004, encoding="utf-8")
    assert export_tables(None, reported, "md", "training") == (
        "## coco5k — reported numbers only\n\n### Training cost\n\n"
        "| model                  | time/epoch   | epochs   | steps   | batch size   | total   | device   |\n"
        "|:-----------------------|:-------------|:---------|:--------|:-------------|:--------|:---------|\n"
        "| LDM (reported)         | 15 min       | 400      | –       | 256          | 100 h   | –        |\n"
        "| GALIP (reported)       | 50 min       | 100      | –       | 256          | 83.3 h  | –        |\n"
        "| real images (reported) | –            | –        | –       | –            | –       | –        |\n")
    size_speed = export_tables(None, reported, "md", "size-speed")
    assert "| LDM (reported)         | 89 M         | 24 M      | 5 s       | 0.2        |" in size_speed
    assert export_tables(None, reported, "md", "quality").endswith(
        "| LDM (reported)         | 157.49  | 2.42   |\n"
        "| GALIP (reported)       | 170.84  | 1.97   |\n"
        "| real images (reported) | 6.09    | 34.88  |\n")


def test_reported_file_errors_are_one_line(tmp_path):
    reported = tmp_path / "reported"
    reported.mkdir()
    bad = reported / "bad.toml"
    bad.write_text('source = "x"\n[[rows]]\nprotocol = "digits"\nmodel = "m"\nmetrics = { fd = 1 }\nfid = 3\n')
    with pytest.raises(ResultsError, match=r"^reported file .*bad.toml row 1: unknown field 'fid' \(known: "):
        read_reported_dir(reported)
    bad.write_text('[[rows]]\nprotocol = "digits"\n')
    with pytest.raises(ResultsError, match=r"field 'source' is missing \(where the numbers were published\)$"):
        read_reported_dir(reported)
    bad.write_text('source = "x"\nurl = "javascript:alert(1)"\n')
    with pytest.raises(ResultsError, match=r"field 'url' must start with https:// or http://, got 'javascript:alert\(1\)'$"):
        read_reported_dir(reported)
    bad.write_text('source = "x"\n[[rows]]\nprotocol = "digits"\nmodel = "m"\nmetrics = { fd = "low" }\n')
    with pytest.raises(ResultsError, match=r"row 1 metric 'fd': field 'value' must be float, got 'low'$"):
        read_reported_dir(reported)


def test_shipped_reported_files_parse():
    rows = read_reported_dir(Path(__file__).parent.parent / "leaderboards" / "reported")
    assert {r["protocol"]["name"] for r in rows} >= {"coco5k", "fmnist"}
    assert all(r["status"] == "reported" and r["reported"]["source"] for r in rows)


def test_duplicate_run_ids_are_left_out_and_listed(tmp_path):
    results = write_records(tmp_path / "results", [make_record("a")])
    (results / "copy.json").write_text((results / "a.json").read_text())
    summary = build_leaderboard(results, tmp_path / "site")
    assert summary.runs == 1
    assert [(u.path.name, u.reason) for u in summary.unreadable] == [
        ("copy.json", f"run id a appears twice: in {results / 'a.json'} and {results / 'copy.json'}")]


def test_records_without_identity_are_left_out_and_listed(tmp_path):
    broken = make_record("a")
    del broken["plugin"]["name"]
    results = write_records(tmp_path / "results", [broken, make_record("b")])
    summary = build_leaderboard(results, tmp_path / "site")
    assert summary.runs == 1
    assert [u.reason for u in summary.unreadable] == [
        f"result file {results / 'a.json'}: field 'plugin.name' must be a string, got null"]


def test_one_bad_file_never_blocks_the_site(tmp_path, capsys):
    """Corrupt, half-written, wrong-shape and wrongly typed result files are listed; the rest is built."""
    results = write_records(tmp_path / "results", [make_record("good", fd=3.25)])
    (results / "truncated.json").write_text('{"schema_version": 1, "run_id": "t', encoding="utf-8")
    (results / "list.json").write_text("[]", encoding="utf-8")
    wrong_type = make_record("typed")
    wrong_type["schema_version"] = "1"
    (results / "typed.json").write_text(json.dumps(wrong_type), encoding="utf-8")
    out = tmp_path / "site"
    arguments = ["leaderboard", "--results-dir", str(results), "--out", str(out)]
    assert main(arguments) == 0
    printed = capsys.readouterr()
    assert "8 run(s)" not in printed.out and ", 3 unreadable result file(s) left out)" in printed.out
    assert printed.err.splitlines() == [
        f"genbench: left out: result file {results / 'list.json'} is not a genbench result (no schema_version)",
        f"genbench: left out: result file {results / 'truncated.json'} is not valid JSON: Unterminated string "
        "starting at: line 1 column 33 (char 32)",
        f"genbench: left out: result file {results / 'typed.json'}: field 'schema_version' must be a whole number "
        "of at least 1, got '1'"]
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "<code>truncated.json</code>: result file truncated.json is not valid JSON" in index
    assert str(tmp_path) not in index  # local directories are not published
    assert "3.25" in (out / "protocols" / "digits--fp1.md").read_text(encoding="utf-8")
    assert main([*arguments, "--strict"]) == 2
    assert capsys.readouterr().err.endswith("genbench: error: 3 result file(s) could not be read (--strict)\n")
    assert main(["leaderboard", "--results-dir", str(results), "--format", "csv", "--strict"]) == 2
    assert main(["leaderboard", "--results-dir", str(results), "--format", "csv"]) == 0
    assert "good" in capsys.readouterr().out
    for path in results.glob("*.json"):
        if path.name != "good.json":
            path.unlink()
    (results / "good.json").write_text("{", encoding="utf-8")
    assert main(arguments) == 2
    assert capsys.readouterr().err.endswith(f"genbench: error: none of the 1 result file(s) in {results} can be "
                                            f"read (first: result file {results / 'good.json'} is not valid JSON: "
                                            "Expecting property name enclosed in double quotes: line 1 column 2 "
                                            "(char 1))\n")


HOSTILE = "vae|x\n<script>alert(1)</script>"


def test_markdown_export_escapes_pipes_newlines_and_tags(tmp_path):
    results = write_records(tmp_path / "results", [make_record("a", HOSTILE)])
    text = export_tables(results, None, "md", "quality")
    rows = text.splitlines()
    assert rows[6].startswith("| vae\\|x &lt;script>alert(1)&lt;/script> |")
    assert len(rows) == 7 and "<script>" not in text


@pytest.mark.parametrize("lead", ["=", "+", "-", "@"])
def test_csv_export_quotes_and_neutralises_formulas(tmp_path, lead):
    label = f"{lead}HYPERLINK(\"http://x\",\"a,b\")\nline"
    results = write_records(tmp_path / "results", [make_record("a", label, kid=-2.5)])  # KID may be negative
    text = export_tables(results, None, "csv", "quality")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:5] == ["protocol", "fingerprint", "run_id", "status", "model"]
    assert rows[1][4] == f"'{label}" and rows[1][rows[0].index("kid")] == "-2.5"  # numbers keep their sign
    assert len(rows) == 2


def test_artifact_names_outside_the_results_directory_are_ignored(tmp_path):
    (tmp_path / "secret.png").write_bytes(b"x")
    results = tmp_path / "results"
    results.mkdir()
    (results / "ok.png").write_bytes(b"y")
    assert read_artifact(results, "ok.png") == b"y"
    assert [read_artifact(results, name) for name in ("../secret.png", str(tmp_path / "secret.png"), "ok.txt",
                                                      "missing.png", None)] == [None] * 5


def test_gallery_entries_of_any_shape_yield_images_with_prompts():
    assert list(gallery_images("g.png")) == [GalleryImage(None, "g.png")]
    assert list(gallery_images({"small blue bird": ["a.png", "b.png"]})) == [
        GalleryImage("small blue bird", "a.png"), GalleryImage("small blue bird", "b.png")]
    assert list(gallery_images([{"prompt": "girl with dog", "seeds": [0, 1], "grid": "c.png"}])) == [
        GalleryImage("girl with dog", "c.png")]


def test_gallery_images_are_copied_and_captions_escaped(tmp_path):
    record = make_record("t2i", gallery=[{"prompt": "<b>red</b> flowers", "grid": "t2i.gallery-0.png"}])
    results = write_records(tmp_path / "results", [record])
    (results / "t2i.gallery-0.png").write_bytes(b"\x89PNG fake")
    build_leaderboard(results, tmp_path / "site")
    page = (tmp_path / "site/runs/t2i.html").read_text(encoding="utf-8")
    assert "&lt;b&gt;red&lt;/b&gt; flowers" in page and "<b>red" not in page
    assert (tmp_path / "site/runs/t2i.assets/gallery-000.png").read_bytes() == b"\x89PNG fake"
    protocol_page = (tmp_path / "site/protocols/digits--fp1.html").read_text(encoding="utf-8")
    assert ('<tr><th scope="row">&lt;b&gt;red&lt;/b&gt; flowers</th><td><img src="../runs/t2i.assets/gallery-000.png" '
            'alt="&lt;b&gt;red&lt;/b&gt; flowers (vae)"></td></tr>') in protocol_page


def test_pareto_front_for_both_directions():
    points = [plots.Point(1.0, 10.0, "slow-good"), plots.Point(0.1, 20.0, "fast-bad"),
              plots.Point(0.5, 30.0, "dominated"), plots.Point(0.01, 25.0, "fastest")]
    assert [p.label for p in plots.pareto_front(points, higher_is_better=False)] == ["fastest", "fast-bad", "slow-good"]
    assert [p.label for p in plots.pareto_front(points, higher_is_better=True)] == ["fastest", "dominated"]


def test_reported_rows_are_drawn_on_the_speed_plot_but_never_on_its_front(tmp_path):
    (tmp_path / "r.toml").write_text(REPORTED_TOML.replace('model = "real images"', 'model = "paper <b>model</b>"\n'
                                                           'seconds_per_image = 0.0001'), encoding="utf-8")
    records = [make_record("fast", fd=20.0, seconds_per_image=0.001), make_record("slow", fd=5.0, seconds_per_image=0.1)]
    group = _groups(records + read_reported_dir(tmp_path))["digits", "fp1"]
    svg = str(next(p["svg"] for p in speed_plots(GroupTables.of(group), "../") if p["file"].endswith("speed-fd.svg")))
    # the reported row (faster and better than both) is a hollow diamond; both measured runs stay on the front
    assert svg.count('class="gb-reported"') == 2  # its marker and the legend's
    assert "<title>paper &lt;b&gt;model&lt;/b&gt;: fd ↓ 0.57, 0.0001 s/image (reported, not ranked)</title>" in svg
    assert svg.count('class="gb-front"') == 2 and 'class="gb-point"' not in svg
    assert "reported (published) numbers: shown, not ranked and not on the front" in svg
    only_measured = speed_plots(GroupTables.of(_groups(records)["digits", "fp1"]), "../")[0]["svg"]
    assert "gb-reported" not in str(only_measured).split("</style>")[1]


def test_model_labels_name_settings_and_scored_samples():
    assert model_label(make_record("a", "ddim", settings={"steps": 20, "eta": 0.0})) == "ddim (eta=0.0, steps=20)"
    scored = make_record("b", "external")
    scored["samples"]["source"] = "/data/gen/samples.npz"
    assert model_label(scored) == "external (samples.npz)"


def test_model_labels_show_only_the_settings_that_differ_from_the_models_own_defaults():
    trained = make_record("a", "ddpm", settings={"precision": "fp32"})
    trained["plugin"]["default_settings"] = {"precision": "fp32"}
    assert model_label(trained) == "ddpm"
    pipeline = make_record("b", "diffusers", settings={"steps": 25, "guidance": 7.5, "precision": "fp32"})
    pipeline["plugin"]["default_settings"] = {"steps": 50, "guidance": 7.5, "precision": "fp32"}
    pipeline["plugin"]["config"] = {"source": "org/stable-diffusion@v1", "pipeline": "StableDiffusionPipeline"}
    assert model_label(pipeline) == "org/stable-diffusion@v1 (steps=25)"


def test_sort_keys_are_what_javascript_parses():
    assert [sort_value(v, True) for v in (None, 1.5, 3, float("inf"), -float("inf"))] == [
        "", "1.5", "3.0", "Infinity", "-Infinity"]
    assert sort_value("DDIM (steps=10)", False) == "ddim (steps=10)"


def test_flatten_carries_training_cost_and_gpu():
    row = flatten(make_record("a"))
    assert (row["training_seconds_per_epoch"], row["training_steps"], row["training_batch_size"], row["gpu"]) == (
        0.175, 1380, 64, None)


def test_formatting():
    assert [formatting.number(v) for v in (None, float("nan"), 344917, 15.26913, 157.49, 0.0612133, 12345.6)] == [
        "–", "–", "344,917", "15.27", "157.49", "0.0612", "12,346"]
    assert formatting.with_spread(0.347967, 0.0612133) == "0.348 ± 0.061"
    assert [formatting.seconds(v) for v in (0.00033, 0.0502, 5.0, 120.0)] == ["330 µs", "50.2 ms", "5 s", "2 min"]
    assert [formatting.count(v) for v in (344917, 89_000_000, 1_450_000_000, 12)] == ["345 k", "89 M", "1.45 B", "12"]
    assert [formatting.duration(v) for v in (10.5, 900.0, 360000.0)] == ["10.5 s", "15 min", "100 h"]


def test_the_command_offers_every_table():
    from genbench.cli.commands.leaderboard import VIEWS as COMMAND_TABLES
    from genbench.leaderboard.tables import VIEWS

    assert COMMAND_TABLES == tuple(VIEWS)


def test_command_builds_the_site_and_prints_tables(site_inputs, tmp_path, capsys):
    results, reported = site_inputs
    out = tmp_path / "site"
    assert main(["leaderboard", "--results-dir", str(results), "--out", str(out), "--reported-dir", str(reported)]) == 0
    assert capsys.readouterr().out.startswith(
        f"genbench: leaderboard of 2 protocol fingerprint(s), 8 run(s) and 1 reported row(s) in {out / 'index.html'}")
    assert main(["leaderboard", "--results-dir", str(results), "--format", "md", "--table", "comparison",
                 "--reported-dir", str(reported)]) == 0
    printed = capsys.readouterr().out
    assert "| model" in printed and "| share > 0.8 ↑" in printed and "× time of fastest" in printed
    assert main(["leaderboard", "--results-dir", str(tmp_path / "none"), "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"genbench: error: results directory {tmp_path / 'none'} does not exist\n"


def busy(record: dict) -> dict:
    """The record with its timings marked as taken on a contended machine."""
    record["speed"]["contended"] = True
    record["speed"]["machine_load"] = {"before": {"load_average_1min": 7.9, "cpu_count": 2, "torch_threads": 1},
                                       "after": {"load_average_1min": 8.3, "cpu_count": 2, "torch_threads": 1}}
    return record


def test_contended_timings_are_shown_flagged_and_kept_off_the_pareto_front(tmp_path):
    records = [make_record("fast", "vae", fd=20.0, seconds_per_image=0.001),
               busy(make_record("busy", "ddpm", fd=5.0, seconds_per_image=0.0005)),
               make_record("slow", "ddim", fd=8.0, seconds_per_image=0.01)]
    (group,) = group_records(records)
    tables = GroupTables.of(group)
    (fd_plot,) = [p for p in speed_plots(tables, "../") if p["file"].endswith("speed-fd.svg")]
    svg = str(fd_plot["svg"])
    assert "ddpm: fd ↓ 5, 0.0005 s/image (timed on a busy machine, not on the front)" in svg
    assert "vae: fd ↓ 20, 0.001 s/image (Pareto front)" in svg
    assert "ddim: fd ↓ 8, 0.01 s/image (Pareto front)" in svg
    markdown = tables.markdown(["size-speed"])
    assert "| ddpm    | 345 k        | 345 k     | 500 µs (contended)  | 20,000 (contended)     |" in markdown
    assert "| vae     | 345 k        | 345 k     | 1 ms                | 10,000                 |" in markdown
    rows = list(csv.reader(io.StringIO(tables.csv("size-speed"))))
    flag = rows[0].index("speed_contended")
    assert {row[2]: row[flag] for row in rows[1:]} == {"busy": "True", "fast": "False", "slow": "False"}


def test_show_says_when_timings_were_taken_on_a_busy_machine(tmp_path, capsys):
    results = write_records(tmp_path / "results", [busy(make_record("busy"))])
    assert main(["show", str(results / "busy.json")]) == 0
    assert "  timed on a busy machine (load 8.3 on 2 CPUs): not comparable with timings on an idle one\n" \
        in capsys.readouterr().out


def test_the_run_page_says_its_timings_were_taken_on_a_busy_machine(tmp_path):
    results = write_records(tmp_path / "results", [busy(make_record("busy")), make_record("idle")])
    build_leaderboard(results, tmp_path / "site")
    assert "busy while timed (load 8.3 on 2 CPUs)" in (tmp_path / "site/runs/busy.html").read_text(encoding="utf-8")
    assert "busy while timed" not in (tmp_path / "site/runs/idle.html").read_text(encoding="utf-8")


def test_a_killed_build_leaves_old_or_new_pages_and_the_next_build_removes_its_temp_files(site_inputs, tmp_path):
    results, reported = site_inputs
    out = tmp_path / "site"
    build_leaderboard(results, out, reported)
    debris = [out / ".index.html.a1b2c3d4.tmp", out / "runs" / ".digits__vae__1.html.zz_9xy8w.tmp"]
    for path in debris:
        path.write_text("<html>half", encoding="utf-8")
    keep = out / ".my-notes.tmp"
    keep.write_text("mine", encoding="utf-8")
    build_leaderboard(results, out, reported)
    assert not any(path.exists() for path in debris) and keep.exists()
    assert not [p for p in out.rglob("*.tmp") if p != keep]
