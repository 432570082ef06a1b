"""Real-browser tests: a live caseflow server process and Debian's Chromium driven by Playwright.

The server is ``flask run`` in a subprocess on a free port of 127.0.0.1, against the
run's database (``database_url``) and with the same environment (keys, instance
folder). Journeys set up their data through the domain and commit it, so the server
sees it; the ``app`` fixture wipes every row after each test as usual.

Screenshots go to ``artifacts/browser/<journey>/NN-name.png``. axe-core comes from
``node_modules/axe-core`` (``npm ci``, see package.json) and is injected into pages
by Playwright through the DevTools protocol, so the pages keep their strict CSP and any
inline script or style it refuses fails the journey.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import TEST_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "browser"
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("CASEFLOW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
OLD_DESKTOP = {"width": 1024, "height": 768}  # a county clerk's screen
REQUIRE = os.environ.get("CASEFLOW_REQUIRE_SERVICES") == "1" or os.environ.get("CI", "").lower() == "true"


def _missing_tools() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (pip install playwright)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} not found (apt-get install chromium, or WITH_BROWSER=1 scripts/bootstrap.sh)"
    if not AXE_JS.exists():
        return f"{AXE_JS.relative_to(ROOT)} not found (run npm ci at the top of the checkout)"
    return None


def pytest_collection_modifyitems(config, items):
    """Missing tools skip the browser tests, except under ``make test``/CI where they fail."""
    why = _missing_tools()
    if not why or REQUIRE:
        return
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="browser tests: " + why))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(database_url, tmp_path_factory):
    """Base URL of a real ``flask run`` process serving the run's database."""
    why = _missing_tools()
    if why:
        pytest.fail("browser tests: " + why)
    port = _free_port()
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    env = dict(os.environ, DATABASE_URL=database_url, FLASK_DEBUG="0", PYTHONUNBUFFERED="1")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "caseflow", "run", "--host", "127.0.0.1",
                                 "--port", str(port), "--no-reload", "--without-threads"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/", timeout=2) as resp:
                if resp.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the live server did not start:\n" + log_path.read_text(errors="replace")[-3000:])
        time.sleep(0.2)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.returncode not in (0, -15):
        print(log_path.read_text(errors="replace")[-3000:])


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole run (Debian's, never a downloaded one)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class Journey:
    """One journey's browser contexts, its numbered screenshots and its axe checks."""

    def __init__(self, browser, base_url: str, name: str):
        self.browser, self.base_url, self.name = browser, base_url, name
        self.folder = ARTIFACTS / name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.shots = 0
        self.contexts = []
        self.skipped: list[str] = []
        self.js_errors: list[str] = []

    def page(self, viewport: dict = DESKTOP):
        """A page in a new browser context (its own cookies: a new person or device)."""
        context = self.browser.new_context(base_url=self.base_url, viewport=viewport, locale="zh-CN",
                                           timezone_id="Asia/Shanghai", accept_downloads=True)
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: self.js_errors.append(f"{page.url}: {exc}"))
        # The CSP stays on: anything inline it refuses shows up here and fails the journey.
        page.on("console", lambda msg: self.js_errors.append(f"{page.url}: {msg.text}")
                if msg.type == "error" and "Content Security Policy" in msg.text else None)
        return page

    def shot(self, page, name: str) -> Path:
        """Save a full-page screenshot as NN-name.png."""
        assert not self.js_errors, f"JavaScript errors: {self.js_errors}"
        self.shots += 1
        path = self.folder / f"{self.shots:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def assert_fits(self, page) -> None:
        """Nothing sticks out sideways: the page needs no horizontal scrolling at this width."""
        wide = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert wide <= 0, f"{page.url} is {wide}px wider than the viewport"

    def axe(self, page, what: str) -> list[dict]:
        """Run axe-core on the page; fails on serious or critical violations, returns the rest."""
        assert not self.js_errors, f"JavaScript errors: {self.js_errors}"
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            # Evaluated through the DevTools protocol, which the page's CSP does not govern.
            page.evaluate(AXE_JS.read_text())
        result = page.evaluate("""async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
        }""")
        with open(self.folder / "axe.txt", "a") as log:
            log.write(f"{what}: {len(result)} violations"
                      + "".join(f"\n  [{v['impact']}] {v['id']}: {v['help']} at {v['nodes']}" for v in result) + "\n")
        bad = [v for v in result if v["impact"] in ("serious", "critical")]
        assert not bad, f"axe on {what} ({page.url}): " + "; ".join(
            f"[{v['impact']}] {v['id']}: {v['help']} at {v['nodes']}" for v in bad)
        return result

    def login(self, page, user, password: str = TEST_PASSWORD) -> None:
        """Log in through the real form; ends on the user's home page."""
        page.goto("/login")
        page.fill("#username", user.username)
        page.fill("#password", password)
        page.click("main button[type=submit]")
        page.wait_for_load_state()
        assert "/login" not in page.url, page.inner_text("main")[:300]

    def guarded(self, app, rule: str, step: str) -> bool:
        """True when the route ``rule`` exists; otherwise the step is noted as not yet available.

        For the pieces other helpers are still building (order PDFs, registry lookup, dashboard).
        """
        plain = {re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"<\1>", r.rule) for r in app.url_map.iter_rules()}
        if rule in plain:
            return True
        note = f"{self.name}: step '{step}' skipped: {rule} is not in app.url_map yet"
        self.skipped.append(note)
        print(note)
        return False

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        if self.skipped:
            (self.folder / "skipped-steps.txt").write_text("\n".join(self.skipped) + "\n")


@pytest.fixture
def journey(request, browser, live_server, app):
    """``journey(name)`` starts a journey; its contexts close at the end of the test."""
    started = []

    def _start(name: str) -> Journey:
        j = Journey(browser, live_server, name)
        started.append(j)
        return j

    yield _start
    for j in started:
        j.close()
