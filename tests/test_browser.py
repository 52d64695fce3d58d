"""A real browser on the real server: `vexy serve` on a loopback port, driven by headless Chromium.

Debian's chromium (apt, installed by .ci/run) is driven by Playwright with ``executable_path``;
Playwright's own browser download is never used. On CI (CI=true) a missing browser or driver is
a failure; elsewhere the test is skipped with the reason.

Screenshots of every page at desktop (1400x1000) and phone (390x844) size are written for a
person to look at, to ``$VEXY_SCREENSHOTS`` or else ``test-artifacts/screenshots/`` in the
checkout (git-ignored; CI keeps the folder as its artifacts), with ``measurements.json``: each
page's HTML size, width and the table rows above the fold.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

CHROMIUM = os.environ.get("VEXY_CHROMIUM") or "/usr/bin/chromium"
# Read at import: the tests' hermetic environment drops VEXY_* variables before each test.
SCREENSHOTS = Path(
    os.environ.get("VEXY_SCREENSHOTS") or Path(__file__).parent.parent / "test-artifacts" / "screenshots"
)
SIZES = {"desktop": (1400, 1000), "phone": (390, 844)}
ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Root needs --no-sandbox; the rest keeps a browser on a machine without internet quiet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]


def require_browser():
    """Playwright's sync API, or fail (CI) / skip (elsewhere) saying what is missing."""
    problems = []
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        problems.append(f"Debian's chromium is not at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problems.append("Playwright for Python is not installed (pip install -e '.[test]')")
        sync_playwright = None
    if problems:
        message = "; ".join(problems)
        if ON_CI:
            pytest.fail(f"the real-browser test cannot run on CI: {message}")
        pytest.skip(message)
    return sync_playwright


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"vexy serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"vexy serve did not answer {url} within {timeout}s:\n{log.read_text()}")


@pytest.fixture
def playwright_api():
    """Checked first, so a missing browser says so before a catalog is built for nothing."""
    return require_browser()


@pytest.fixture
def vexy_server(history_catalog, tmp_path):
    """`vexy serve` as a subprocess on a free loopback port, serving a catalog with a past (a
    price change 20 days ago) and a failing provider."""
    db_path = history_catalog.db_path
    port = free_port()
    log = tmp_path / "vexy-serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "vexy_catalog.cli", "--db", str(db_path), "serve", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/-/versions.json", process, log)
        yield base, history_catalog
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def launch(p, profile: Path, **options):
    return p.chromium.launch_persistent_context(
        str(profile),  # a fresh profile for every run
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        **options,
    )


def test_browse_search_facet_and_download_in_a_real_browser(playwright_api, vexy_server, tmp_path):
    sync_playwright = playwright_api
    base, _ = vexy_server
    with sync_playwright() as p:
        browser = launch(
            p, tmp_path / "chromium-profile", accept_downloads=True, viewport={"width": 1400, "height": 1000}
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))

            # The models table.
            page.goto(f"{base}/vexy/models")
            assert page.locator("h1").first.inner_text().startswith("models")
            assert page.locator("table.rows-and-columns tbody tr").count() > 10

            # Full-text search, through the page's own search box.
            page.fill("input#_search", "llama")
            page.press("input#_search", "Enter")
            page.wait_for_url("**_search=llama**")
            found = page.locator("table.rows-and-columns tbody tr")
            assert found.count() >= 2
            for i in range(found.count()):
                assert "llama" in found.nth(i).inner_text().lower()

            # A facet: folded away under the search, one click opens it; then groq's link.
            assert not page.locator("#facet-provider").is_visible()
            page.locator("details.vexy-facets summary").click()
            page.locator('#facet-provider a:text-is("groq")').click()
            page.wait_for_url("**provider=groq**")
            rows = page.locator("table.rows-and-columns tbody tr")
            assert rows.count() >= 1
            for i in range(rows.count()):
                assert "groq" in rows.nth(i).locator("td.col-provider").inner_text()

            # A column one click away: the chooser adds the description.
            page.locator("details.vexy-columns summary").click()
            page.locator('.vexy-column-chooser input[value="description"]').check()
            page.locator('.vexy-column-chooser input[type="submit"]').click()
            page.wait_for_url("**_col=description**")
            assert page.locator("table.vexy-models th.col-description").is_visible()
            assert "provider=groq" in page.url and "_search=llama" in page.url

            # The table action carries the filters to the config page.
            page.locator("details.actions-menu-links summary").click()
            page.get_by_role("link", name="Download a config for these rows").click()
            page.wait_for_url("**/-/vexy/config?**")
            query = parse_qs(urlsplit(page.url).query)
            assert query["provider"] == ["groq"] and query["q"] == ["llama"]
            assert "match" in page.locator("p.vexy-count").inner_text()

            # Follow a download link: llm's extra-openai-models.yaml for those rows.
            with page.expect_download() as info:
                page.locator('a.vexy-download[data-tool="llm"]').click()
            download = info.value
            saved = tmp_path / "downloads" / download.suggested_filename
            download.save_as(str(saved))
            entries = yaml.safe_load(saved.read_text(encoding="utf-8"))
            assert download.suggested_filename.endswith(".yaml")
            assert {e["model_name"] for e in entries} >= {"llama-3.3-70b-versatile"}
            assert all("llama" in e["model_name"] for e in entries)

            # From a model's page to the compare page and back through the scatter.
            page.goto(f"{base}/vexy/models/openrouter,ai21~2Fjamba-large-1~2E7")
            assert page.locator("table.vexy-facts").is_visible()
            page.goto(f"{base}/-/vexy/scatter?provider=openrouter")
            page.locator("svg.vexy-scatter a").first.click()
            page.wait_for_url("**/vexy/models/openrouter,**")
            assert page.locator("table.vexy-facts").is_visible()
            assert not errors, errors
        finally:
            browser.close()


# What a person sees, measured in the page: the table rows wholly inside the first screen, and
# whether anything reaches past the right edge (of the page, or of a table's scroll box).
_MEASURE = """() => {
  const vw = document.documentElement.clientWidth, vh = window.innerHeight;
  const rows = [...document.querySelectorAll('table.rows-and-columns tbody tr')];
  const wrappers = [...document.querySelectorAll('.table-wrapper')].filter(w => w.offsetParent !== null);
  return {
    viewport: [vw, vh],
    page_width: document.documentElement.scrollWidth,
    rows: rows.length,
    rows_above_fold: rows.filter(r => r.getBoundingClientRect().bottom <= vh).length,
    first_row_top: rows.length ? Math.round(rows[0].getBoundingClientRect().top) : null,
    sideways: wrappers.filter(w => w.scrollWidth > w.clientWidth + 1).map(w => w.firstElementChild.className),
  };
}"""


def _visible_chart(page, fact: str):
    """The drawn line of ``fact`` in the chart this screen shows (wide or narrow)."""
    charts = page.locator(f'.vexy-chart svg.vexy-steps g.vexy-series[data-fact="{fact}"]')
    for i in range(charts.count()):
        if charts.nth(i).is_visible():
            return charts.nth(i)
    raise AssertionError(f"no visible {fact} line")


def test_every_page_at_desktop_and_phone_size(playwright_api, vexy_server, tmp_path):
    """Screenshots for a person, and the checks a person would make looking at them."""
    sync_playwright = playwright_api
    base, history = vexy_server
    model = f"/vexy/models/{history.model[0]},{history.model[1].replace('.', '~2E')}"
    pages = {
        "home": "/",
        "models": "/vexy/models",
        "model": model,
        "compare": f"/-/vexy/compare?m={history.model[0]}/{history.model[1]}&m=openrouter/ai21/jamba-large-1.7",
        "health": "/-/vexy/health",
        "scatter": "/-/vexy/scatter",
    }
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    measured: dict[str, dict] = {}
    with sync_playwright() as p:
        for size, (width, height) in SIZES.items():
            browser = launch(p, tmp_path / f"profile-{size}", viewport={"width": width, "height": height})
            try:
                page = browser.new_page()
                page.set_default_timeout(15_000)
                errors: list[str] = []
                page.on("pageerror", lambda e, seen=errors: seen.append(str(e)))
                for name, path in pages.items():
                    response = page.goto(base + path)
                    assert response.status == 200, (name, response.status)
                    facts = page.evaluate(_MEASURE)
                    facts["html_bytes"] = len(response.body())
                    measured[f"{name} {width}x{height}"] = facts
                    page.screenshot(path=str(SCREENSHOTS / f"{width}x{height}-{name}.png"))
                    # Nothing runs off the right edge of the screen.
                    assert facts["page_width"] <= width, (name, size, facts)
                    if name in ("models", "health", "home"):
                        assert not facts["sideways"], (name, size, facts)
                    check = globals()[f"_check_{name}"]
                    check(page, facts, history, width, height)
                assert not errors, errors
            finally:
                browser.close()
    (SCREENSHOTS / "measurements.json").write_text(json.dumps(measured, indent=2), encoding="utf-8")
    print(f"screenshots: {SCREENSHOTS}")
    assert sorted(f.name for f in SCREENSHOTS.glob("*.png")) >= sorted(
        f"{w}x{h}-{name}.png" for w, h in SIZES.values() for name in pages
    )


def _check_home(page, facts, history, width, height):
    failing = page.locator("section.vexy-failing")
    assert failing.is_visible() and history.failing in failing.inner_text()
    assert "HTTP 500" in failing.inner_text()
    assert failing.bounding_box()["y"] < height, "failures are on the first screen"
    assert "Run vexy fetch" not in page.inner_text("body")
    assert page.locator("section.vexy-recent").get_by_text(history.changed_on).count() >= 1


def _check_models(page, facts, history, width, height):
    # Rows come first: a screenful of models, not descriptions and facets.
    assert facts["rows_above_fold"] >= (15 if width >= 1000 else 3), facts
    # Every default column is on the screen, none past its right edge.
    for th in page.locator("table.vexy-models thead th").all():
        box = th.bounding_box()
        if width >= 1000:
            assert box and box["x"] + box["width"] <= width, th.get_attribute("data-column")
    first = page.locator("table.vexy-models tbody tr").first
    for cell in first.locator("td").all():
        box = cell.bounding_box()
        assert box is None or box["x"] + box["width"] <= width, cell.get_attribute("class")


def _check_model(page, facts, history, width, height):
    line = _visible_chart(page, "input_price")
    steps = line.locator("circle.vexy-step")
    assert steps.count() == 2, "the price change is one step"
    assert [s.get_attribute("data-at")[:10] for s in steps.all()] == [history.first_on, history.changed_on]
    assert [float(s.get_attribute("data-value")) for s in steps.all()] == list(history.prices)
    svg = line.locator("xpath=ancestor::*[local-name()='svg']")
    labels = [t.text_content() for t in svg.locator("text.vexy-change-label").all()]
    assert labels == [history.changed_on], "the change's date is on the axis"
    box = svg.bounding_box()
    assert box["x"] + box["width"] <= width


def _check_compare(page, facts, history, width, height):
    table = page.locator("table.vexy-compare")
    assert table.is_visible() and table.locator("thead th").count() == 3
    assert _visible_chart(page, "input_price").is_visible()
    assert table.bounding_box()["x"] + table.bounding_box()["width"] <= width


def _check_health(page, facts, history, width, height):
    error = page.locator("table.vexy-health-providers td.vexy-c-error").first
    assert "HTTP 500" in error.inner_text()
    box = error.bounding_box()
    assert box["x"] + box["width"] <= width, "the error wraps instead of running off the edge"


def _check_scatter(page, facts, history, width, height):
    points = page.locator("svg.vexy-scatter circle.vexy-point")
    assert points.count() > 3 and points.first.is_visible()
