"""A real browser on the real server: `vexy serve` on a loopback port, driven by headless Chromium.

Debian's chromium (apt, installed by .ci/run) is driven by Playwright with ``executable_path``;
Playwright's own browser download is never used. On CI (CI=true) a missing browser or driver is
a failure; elsewhere the test is skipped with the reason. Screenshots are left in the test's
tmp dir (the path is printed) for a person to look at.
"""

from __future__ import annotations

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
from conftest import answer

from vexy_catalog import ModelCatalog

CHROMIUM = os.environ.get("VEXY_CHROMIUM") or "/usr/bin/chromium"
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
def vexy_server(providers, server, tmp_path):
    """`vexy serve` as a subprocess on a free loopback port, serving a freshly fetched catalog."""
    providers_file, db_path = providers
    server.routes["groq"].body = {"object": "list", "data": answer("groq")["data"] + answer("groq-llama")["data"]}
    summary = ModelCatalog(db_path=db_path, providers_file=providers_file).fetch()
    assert summary.ok, summary.failed
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
        yield base, db_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_browse_search_facet_and_download_in_a_real_browser(playwright_api, vexy_server, tmp_path):
    sync_playwright = playwright_api
    base, db_path = vexy_server
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh profile for every run
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            accept_downloads=True,
            viewport={"width": 1400, "height": 1000},
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

            # A facet: the provider list under the search, groq's link.
            page.locator('#facet-provider a:text-is("groq")').click()
            page.wait_for_url("**provider=groq**")
            rows = page.locator("table.rows-and-columns tbody tr")
            assert rows.count() >= 1
            for i in range(rows.count()):
                assert "groq" in rows.nth(i).locator("td.col-provider").inner_text()
            page.screenshot(path=str(shots / "1-models-search-facet.png"), full_page=False)

            # The table action carries the filters to the config page.
            page.locator("details.actions-menu-links summary").click()
            page.get_by_role("link", name="Download a config for these rows").click()
            page.wait_for_url("**/-/vexy/config?**")
            query = parse_qs(urlsplit(page.url).query)
            assert query["provider"] == ["groq"] and query["q"] == ["llama"]
            assert "match" in page.locator("p.vexy-count").inner_text()
            page.screenshot(path=str(shots / "2-config.png"), full_page=True)

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

            # The health page and a model's page.
            page.goto(f"{base}/-/vexy/health")
            assert "Catalog health" in page.locator("h1").inner_text()
            page.screenshot(path=str(shots / "3-health.png"), full_page=True)
            page.goto(f"{base}/vexy/models/groq,llama-3~2E3-70b-versatile")
            assert page.locator("table.vexy-facts").is_visible()
            page.screenshot(path=str(shots / "4-model.png"), full_page=False)
            assert not errors, errors
        finally:
            browser.close()
    print(f"screenshots: {shots}")
    assert sorted(p.name for p in shots.iterdir()) == [
        "1-models-search-facet.png",
        "2-config.png",
        "3-health.png",
        "4-model.png",
    ]
