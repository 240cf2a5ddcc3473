"""The built leaderboard in a real browser: headless Chromium (Debian's package) driven by selenium, from file://."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from leaderboard_records import demo_records, write_records
from PIL import Image

from genbench.leaderboard import build_leaderboard

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1000")
APT_PACKAGES = ("chromium", "chromium-driver")


def _chromium() -> tuple[str, str]:
    """Paths of chromium and chromedriver, installing Debian's packages first when missing and running as root."""
    found = shutil.which("chromium"), shutil.which("chromedriver")
    if all(found):
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("Chromium is not installed and cannot be installed here (needs root and apt-get): "
                    f"run `apt-get install -y {' '.join(APT_PACKAGES)}` as root")
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", *APT_PACKAGES]):
        done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        if done.returncode != 0:
            pytest.skip(f"installing Chromium failed ({' '.join(command)}): {done.stderr.strip().splitlines()[-1:]}")
    found = shutil.which("chromium"), shutil.which("chromedriver")
    if not all(found):
        pytest.skip("apt-get installed Chromium but chromium/chromedriver are not on PATH")
    return found


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = _chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    yield driver
    driver.quit()


def _order(driver, selector: str) -> list[str]:
    return [a.get_attribute("href").rsplit("/", 1)[-1] for a in driver.find_elements("css selector", selector)]


def _severe(driver) -> list[dict]:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def test_pages_sort_by_clicked_column_from_file_urls(browser, tmp_path):
    from selenium.webdriver.common.keys import Keys

    results = write_records(tmp_path / "results", demo_records())
    site = tmp_path / "site"
    build_leaderboard(results, site)

    browser.get((site / "index.html").as_uri())
    assert browser.title == "Protocols · genbench leaderboard"
    before = _order(browser, "table.index-table tbody a.protocol-link")
    assert before == ["digits--fp1.html", "digits--fp2.html"]
    browser.find_element("xpath", "//th/button[normalize-space()='protocol']").click()
    assert _order(browser, "table.index-table tbody a.protocol-link") == before[::-1]
    browser.save_screenshot(str(tmp_path / "index.png"))
    assert _severe(browser) == []

    browser.get((site / "protocols" / "digits--fp1.html").as_uri())
    ranked = "#leaderboard tbody:first-of-type td.model a"
    assert _order(browser, ranked) == ["digits__ddpm__1.html", "digits__ddim__100.html", "digits__ddim__050.html",
                                       "digits__ddim__020.html", "digits__ddim__010.html", "digits__vae__1.html",
                                       "digits__evil__1.html"]
    speed = browser.find_element("xpath", "//th/button[starts-with(normalize-space(), 's/image')]")
    speed.click()
    assert speed.find_element("xpath", "..").get_attribute("aria-sort") == "ascending"
    assert _order(browser, ranked) == ["digits__evil__1.html", "digits__vae__1.html", "digits__ddim__010.html",
                                       "digits__ddim__020.html", "digits__ddim__050.html", "digits__ddim__100.html",
                                       "digits__ddpm__1.html"]
    speed.send_keys(Keys.ENTER)  # the keyboard reaches the same button
    assert speed.find_element("xpath", "..").get_attribute("aria-sort") == "descending"
    assert _order(browser, ranked)[0] == "digits__ddpm__1.html"
    assert browser.find_element("css selector", "#leaderboard td.model").text.startswith("ddpm")
    assert "<script>alert(1)</script>" in browser.find_element("id", "leaderboard").text  # shown as text
    browser.save_screenshot(str(tmp_path / "protocol.png"))
    assert (tmp_path / "protocol.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _severe(browser) == []


def test_make_screenshot_draws_a_protocol_page(tmp_path):
    """``make screenshot`` (the README's picture) renders a built protocol page to a PNG of the window's size."""
    _chromium()  # installs or skips, as for the other browser tests; the Makefile calls `chromium`
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    site = tmp_path / "site"
    build_leaderboard(write_records(tmp_path / "results", demo_records()), site)
    picture = tmp_path / "page.png"
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(["make", "-C", str(root), "screenshot", f"SCREENSHOT={picture}",
                           f"SCREENSHOT_PAGE={site / 'protocols' / 'digits--fp1.html'}"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with Image.open(picture) as image:
        assert image.format == "PNG" and image.size == (1280, 900)
        assert len(image.convert("L").getcolors(maxcolors=256)) > 20  # a drawn page, not a blank window
