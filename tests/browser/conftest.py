"""Fixtures of the browser tests: Debian's Chromium driven by Playwright, screenshots of every step.

The tests start JupyterLab themselves (lab.JupyterLab) on copies of course/ or of a graded class, in
a temporary folder. Chromium is the system's (``apt-get install chromium``; CNNKIT_CHROMIUM names
another binary); Playwright never downloads a browser here. Without Chromium or Playwright the tests
fail under CI (CI is set) and are skipped elsewhere.
"""

import os
import re
import shutil
import time

import pytest

from .lab import SCREENSHOTS, Shots

VIEWPORT = {"width": 1440, "height": 900}
STARTED = time.time()   # screenshots newer than this were taken by this run
OUTSIDE = re.compile(r"^(?!https?://127\.0\.0\.1[:/]|data:|blob:)")


def chromium_path():
    named = os.environ.get("CNNKIT_CHROMIUM")
    if named:
        return named if os.path.isfile(named) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def missing(what):
    if os.environ.get("CI"):
        pytest.fail(f"the browser tests must run in CI: {what}")
    pytest.skip(what)


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright is not installed (pip install -e '.[dev]')")
    executable = chromium_path()
    if not executable:
        missing("Chromium is not installed (Debian: apt-get install chromium; or set CNNKIT_CHROMIUM to its path)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--disable-dev-shm-usage"])
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def shots(request):
    """shots(page_or_element, "step"): build/screenshots/<test>/NN-step.png."""
    return Shots(request.node.name)


@pytest.fixture
def page(browser, shots, request):
    """A fresh browser page (its own cookies and storage); a failing test leaves a last screenshot."""
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    context.set_default_timeout(60_000)
    # nothing leaves the machine: a page's request elsewhere (nbgrader's formgrader asks a CDN for
    # MathJax) fails at once instead of holding up the page's load event
    context.route(OUTSIDE, lambda route: route.abort())
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        try:
            shots(page, "failure", full_page=False)
        except Exception:  # the page may be gone with the failure
            pass
    context.close()


def pytest_terminal_summary(terminalreporter, config):
    """List the screenshots of this run (where this file is loaded in the process that reports: a
    run without workers, or one given tests/browser; `make test` lists them itself)."""
    if not SCREENSHOTS.is_dir():
        return
    taken = sorted(p for p in SCREENSHOTS.rglob("*.png") if p.stat().st_mtime >= STARTED - 1)
    if taken:
        terminalreporter.write_sep("-", f"browser screenshots ({len(taken)}) in {SCREENSHOTS}")
        for path in taken:
            terminalreporter.write_line(str(path.relative_to(SCREENSHOTS)))
