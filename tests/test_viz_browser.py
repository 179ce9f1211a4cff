"""kedro-viz as a person sees it: the static site rendered in headless Chromium.

`kedro viz build` writes the site into a project copy; a local HTTP server on 127.0.0.1
serves it, and Playwright drives the system Chromium (Debian package `chromium`;
Playwright's own browser downloads are not used). The flowchart must show one group per
task, the evaluation group, the joining nodes, and the stage tags; expanding a task's
group must show its ingestion and tokenization nodes. Screenshots go to the test's
temporary folder (and to $MTL_VIZ_SCREENSHOTS when set).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_kedro

CHROMIUM = os.environ.get("MTL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TASKS = ("sst2", "mrpc", "rte", "stsb", "cola")
STAGE_TAGS = ("Ingestion", "Tokenization", "Mixing", "Training", "Evaluation", "Reporting")
# kedro-viz keeps UI state in localStorage: no "new feature" hints over the flowchart.
NO_HINTS = "localStorage.setItem('KedroViz', JSON.stringify({showFeatureHints: false}))"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass


@pytest.fixture
def served_site(project_copy: Path) -> Iterator[str]:
    """`kedro viz build` in the project copy, served on 127.0.0.1 (random free port)."""
    run_kedro(project_copy, "viz", "build", timeout=300)
    site = project_copy / "build"
    assert (site / "index.html").exists()
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _labels(page) -> list[str]:
    return page.eval_on_selector_all(".pipeline-node", "els => els.map(e => e.textContent.trim())")


@pytest.mark.slow
def test_flowchart_renders_stages_and_task_namespaces(served_site: str, tmp_path: Path):
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    shots = Path(os.environ.get("MTL_VIZ_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)

    with sync_api.sync_playwright() as playwright:
        # A persistent context is how Playwright takes --user-data-dir (a throwaway one).
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": 1000},
        )
        try:
            page = browser.new_page()
            page.add_init_script(NO_HINTS)
            page.goto(served_site)
            page.wait_for_selector(".pipeline-node", timeout=60_000)
            page.wait_for_timeout(1000)  # layout settles
            page.screenshot(path=str(shots / "viz_overview.png"))

            labels = _labels(page)
            for name in (
                *TASKS,
                "evaluation",
                "build_task_mixture",
                "train_model",
                "collect_metrics",
            ):
                assert name in labels, f"{name!r} not drawn; labels: {labels}"
            sidebar = page.inner_text("body")
            for tag in STAGE_TAGS:
                assert re.search(rf"\b{tag}\b", sidebar), (
                    f"stage tag {tag!r} missing from the filters"
                )

            page.locator(".pipeline-node--modularPipeline").filter(
                has_text=re.compile(r"^sst2$")
            ).first.click()
            page.wait_for_function(
                "() => [...document.querySelectorAll('.pipeline-node')].some(e => e.textContent.trim() === 'tokenize_task')",
                timeout=30_000,
            )
            page.wait_for_timeout(1000)
            expanded = _labels(page)
            assert {"ingest_task", "tokenize_task", "sst2__train_features"} <= set(expanded)
            assert "sst2" not in expanded, "the expanded group is drawn as its nodes"
            page.screenshot(path=str(shots / "viz_namespace_expanded.png"))
        finally:
            browser.close()
