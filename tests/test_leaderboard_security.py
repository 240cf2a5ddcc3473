"""A site built from result files a stranger sent never publishes local files or live script links."""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

import pytest
from leaderboard_records import make_record, write_records

from genbench.leaderboard import build_leaderboard

SECRET = b"root:$6$secret-hash:19000:0:99999:7:::\n"


def _site_files(site: Path) -> dict[str, bytes]:
    return {str(p.relative_to(site)): p.read_bytes() for p in site.rglob("*") if p.is_file()}


def _leaks(site: Path, secret: bytes = SECRET) -> list[str]:
    return [name for name, data in _site_files(site).items() if secret in data]


@pytest.fixture
def secret_outside(tmp_path):
    secret = tmp_path / "shadow"
    secret.write_bytes(SECRET)
    return secret


def test_a_grid_that_is_a_symlink_out_of_the_results_directory_is_not_copied(tmp_path, secret_outside):
    results = write_records(tmp_path / "results", [make_record("evil", gallery=["evil.gallery.png"])])
    (results / "evil.grid.png").symlink_to(secret_outside)
    (results / "evil.gallery.png").symlink_to(secret_outside)
    record = json.loads((results / "evil.json").read_text())
    record["artifacts"]["grid"] = "evil.grid.png"
    (results / "evil.json").write_text(json.dumps(record))
    build_leaderboard(results, tmp_path / "site")
    assert _leaks(tmp_path / "site") == []
    assert "evil.assets" not in " ".join(_site_files(tmp_path / "site"))


def test_a_symlinked_directory_on_the_way_is_not_followed(tmp_path, secret_outside):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "grid.png").write_bytes(SECRET)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "sub").symlink_to(outside, target_is_directory=True)
    results = write_records(tmp_path / "results", [make_record("evil", grid="sub/grid.png")])
    (outside / "grid.png").write_bytes(SECRET)
    build_leaderboard(results, tmp_path / "site")
    assert _leaks(tmp_path / "site") == []


def test_protected_files_inside_the_results_directory_are_not_copied(tmp_path):
    """A 0600 file (the owner's own secret, or a hard link to one) is never published world-readable."""
    results = write_records(tmp_path / "results", [make_record("a", grid="a.grid.png"),
                                                   make_record("b", grid="b.grid.png")])
    (results / "a.grid.png").write_bytes(SECRET)
    os.chmod(results / "a.grid.png", 0o600)
    build_leaderboard(results, tmp_path / "site")
    assert _leaks(tmp_path / "site") == []
    assert (tmp_path / "site/runs/b.assets/grid.png").read_bytes() == (results / "b.grid.png").read_bytes()


def test_a_fifo_named_as_an_artifact_does_not_hang_the_build(tmp_path):
    results = write_records(tmp_path / "results", [make_record("a")])
    os.mkfifo(results / "a.grid.png")
    record = json.loads((results / "a.json").read_text())
    record["artifacts"]["grid"] = "a.grid.png"
    (results / "a.json").write_text(json.dumps(record))
    build = threading.Thread(target=build_leaderboard, args=(results, tmp_path / "site"), daemon=True)
    build.start()
    build.join(timeout=60)
    if build.is_alive():  # unblock the reader so the test process can end
        with open(results / "a.grid.png", "wb"):
            pass
        pytest.fail("the build blocked on a FIFO named as the sample grid")
    assert (tmp_path / "site/runs/a.html").is_file() and not (tmp_path / "site/runs/a.assets").exists()


@pytest.mark.parametrize("url", ["javascript:alert(document.cookie)", " JavaScript:alert(1)", "data:text/html,<b>x</b>",
                                 "vbscript:msgbox(1)", "//evil.example/x", "https:/no-host", "http://x y\nz"])
def test_a_reported_result_json_never_writes_a_live_link_other_than_http(tmp_path, url):
    record = make_record("reported__evil__01", "paper model", status="reported")
    record["reported"] = {"source": "a paper", "url": url, "measured_as": None}
    results = write_records(tmp_path / "results", [record, make_record("good")])
    build_leaderboard(results, tmp_path / "site")
    for name, data in _site_files(tmp_path / "site").items():
        if name.endswith(".html"):
            for link in re.findall(r'(?:href|src)="([^"]*)"', data.decode("utf-8")):
                assert not re.match(r"\s*[a-z][a-z0-9+.-]*:", link, re.I) or re.match(r"https?://[^/\s]", link), \
                    f"{name} links {link!r}"
    page = (tmp_path / "site/runs/reported__evil__01.html").read_text(encoding="utf-8")
    assert "Published numbers from a paper;" in page and ">source</a>" not in page


def test_a_reported_result_json_with_an_https_url_links_it(tmp_path):
    record = make_record("reported__ok__01", "paper model", status="reported")
    record["reported"] = {"source": "a paper", "url": "https://arxiv.org/abs/2112.10752", "measured_as": None}
    results = write_records(tmp_path / "results", [record, make_record("good")])
    build_leaderboard(results, tmp_path / "site")
    page = (tmp_path / "site/runs/reported__ok__01.html").read_text(encoding="utf-8")
    assert '(<a href="https://arxiv.org/abs/2112.10752">source</a>)' in page
