"""report.html opened in a real browser (headless Chromium, the Debian package; scripts/install-chromium.sh,
run by .ci/run): it renders, every image loads, it makes no network request and logs no error, and it reads
at a phone's width (no sideways scrolling of the page). A screenshot of the first screen at 390×844 is kept
beside the report (report-phone.png) and under build/.

Driven through the DevTools protocol (CDP) with websocket-client, no Playwright: the browser is the
system's. Skips when Chromium is absent, unless BENCH_REQUIRE_BROWSER=1 (set by .ci/run)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import websocket

from harness.report.build import write_report

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "small_run"
PHONE = (390, 844)
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # DevTools is on 127.0.0.1: never a proxy


def browser_path() -> str | None:
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A headless Chromium with its DevTools port on 127.0.0.1; yields the port's HTTP address."""
    path = browser_path()
    if path is None:
        if os.environ.get("BENCH_REQUIRE_BROWSER") == "1":
            pytest.fail("BENCH_REQUIRE_BROWSER=1 but no Chromium found: run scripts/install-chromium.sh")
        pytest.skip("no Chromium (the Debian package chromium): scripts/install-chromium.sh installs it")
    profile = tmp_path_factory.mktemp("chromium-profile")
    proc = subprocess.Popen([path, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--disable-extensions", "--disable-background-networking", "--disable-sync",
                             "--disable-component-update", "--remote-debugging-address=127.0.0.1",
                             "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        yield _devtools_address(proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _devtools_address(proc: subprocess.Popen) -> str:
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if found := re.search(r"DevTools listening on ws://([\d.]+:\d+)/", line):
            return f"http://{found.group(1)}"
        if not line and proc.poll() is not None:
            break
    pytest.fail(f"Chromium did not open its DevTools port (exit code {proc.poll()})")


@dataclass
class PageLoad:
    """What the browser saw while loading one page."""

    requests: list[str] = field(default_factory=list)  # every URL fetched but the page itself and data: URIs
    errors: list[str] = field(default_factory=list)  # console errors, exceptions, log entries of level error
    images: list[dict] = field(default_factory=list)  # per <img>: complete, naturalWidth
    page: dict = field(default_factory=dict)  # scrollWidth, innerWidth, text length
    screenshot: bytes = b""


class Cdp:
    """A minimal DevTools client: numbered commands, events kept until asked for."""

    def __init__(self, ws_url: str) -> None:
        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.next_id, self.events = 0, []

    def call(self, method: str, **params: object) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(e.get("method") == method for e in self.events):
            assert time.monotonic() < deadline, f"no {method} within {timeout_s} s"
            self.events.append(json.loads(self.ws.recv()))


@contextmanager
def opened(devtools: str, page: Path, size: tuple[int, int], mobile: bool) -> Iterator[Cdp]:
    """A new tab of `size` pixels showing `page`, loaded; closed afterwards."""
    new_tab = urllib.request.Request(f"{devtools}/json/new?about:blank", method="PUT")
    with LOCAL.open(new_tab) as r:
        target = json.loads(r.read())
    cdp = Cdp(target["webSocketDebuggerUrl"])
    try:
        for domain in ("Page", "Network", "Runtime", "Log"):
            cdp.call(f"{domain}.enable")
        cdp.call("Emulation.setDeviceMetricsOverride", width=size[0], height=size[1], deviceScaleFactor=1,
                 mobile=mobile)
        cdp.call("Page.navigate", url=page.resolve().as_uri())
        cdp.wait_for("Page.loadEventFired")
        yield cdp
    finally:
        cdp.ws.close()
        LOCAL.open(f"{devtools}/json/close/{target['id']}").close()


def load_page(devtools: str, page: Path) -> PageLoad:
    url = page.resolve().as_uri()
    with opened(devtools, page, PHONE, mobile=True) as cdp:
        result = PageLoad()
        images = cdp.call("Runtime.evaluate", returnByValue=True, expression=(
            "[...document.images].map(i => ({src: i.src.slice(0, 30), complete: i.complete, width: i.naturalWidth}))"))
        result.images = images["result"]["value"]
        facts = cdp.call("Runtime.evaluate", returnByValue=True, expression=(
            "({scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,"
            " text: document.body.innerText.length,"
            " csp: document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]')?.content || ''})"))
        result.page = facts["result"]["value"]
        shot = cdp.call("Page.captureScreenshot", format="png")
        result.screenshot = base64.b64decode(shot["data"])
        cdp.call("Runtime.evaluate", expression="0")  # flush events sent before the last answer
        _read_events(cdp.events, url, result)
        return result


def _read_events(events: list[dict], url: str, result: PageLoad) -> None:
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            fetched = params["request"]["url"]
            if fetched != url and not fetched.startswith("data:"):
                result.requests.append(fetched)
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            result.errors.append(" ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
        elif method == "Runtime.exceptionThrown":
            result.errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            result.errors.append(params["entry"]["text"])


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("browser") / "run"
    shutil.copytree(FIXTURE, run)
    write_report(run)
    return run / "report.html"


def test_report_html_renders_in_chromium_with_every_image_and_nothing_fetched(browser, report):
    seen = load_page(browser, report)
    assert seen.page["text"] > 1000  # it rendered: the claims, tables and text are there
    assert seen.images and all(i["complete"] and i["width"] > 0 for i in seen.images), seen.images
    assert all(i["src"].startswith("data:image/png") for i in seen.images)
    assert seen.requests == [], "report.html fetched something"
    assert seen.errors == []
    # laid out at the phone's width (not a zoomed-out desktop page), and nothing wider than it
    assert seen.page["innerWidth"] == PHONE[0]
    assert seen.page["scrollWidth"] <= seen.page["innerWidth"], "the page scrolls sideways at a phone's width"
    assert "default-src 'none'" in seen.page["csp"]  # the browser itself refuses any fetch
    assert seen.screenshot.startswith(b"\x89PNG")
    (report.parent / "report-phone.png").write_bytes(seen.screenshot)
    build = ROOT / "build"
    build.mkdir(exist_ok=True)
    (build / "report-phone.png").write_bytes(seen.screenshot)


def test_the_check_sees_a_page_that_fetches_or_fails(browser, tmp_path):
    """The same check on a page that breaks each rule, so that the test above can fail."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png">'
                   '<script>console.error("broken")</script><div style="width:2000px">wide</div></body></html>')
    seen = load_page(browser, bad)
    assert seen.requests == ["http://127.0.0.1:9/x.png"]  # port 9 (discard): refused, never leaves the host
    assert any("broken" in e for e in seen.errors)
    assert seen.images[0]["width"] == 0
    assert seen.page["scrollWidth"] > seen.page["innerWidth"]


DESKTOP = (1280, 800)
FIRST_SCREEN = ("#fig-claims_overview img", "#fig-ratio_forest img")  # the verdicts, and every ratio


def boxes(devtools: str, page: Path, size: tuple[int, int], selectors: tuple[str, ...]) -> dict[str, dict]:
    """Each selector's first element's box in CSS pixels from the page's top (None when absent), once
    its image has loaded; and a screenshot of the first screen under the key "screenshot"."""
    with opened(devtools, page, size, mobile=False) as cdp:
        found = cdp.call("Runtime.evaluate", returnByValue=True, expression=(
            f"{json.dumps(list(selectors))}.map(s => {{ const e = document.querySelector(s);"
            " if (!e) return null; const r = e.getBoundingClientRect();"
            " return {top: r.top + scrollY, bottom: r.bottom + scrollY, width: r.width,"
            " loaded: !e.naturalWidth || e.complete}; })"))
        shot = cdp.call("Page.captureScreenshot", format="png")
    return {**dict(zip(selectors, found["result"]["value"], strict=True)),
            "screenshot": {"png": base64.b64decode(shot["data"])}}


def test_the_first_screen_at_1280_by_800_shows_the_verdicts_and_every_ratio(browser, report):
    seen = boxes(browser, report, DESKTOP, FIRST_SCREEN)
    (report.parent / "report-first-screen.png").write_bytes(seen["screenshot"]["png"])
    for selector in FIRST_SCREEN:
        box = seen[selector]
        assert box is not None, f"{selector} is not in report.html"
        assert box["loaded"] and box["width"] > 300, (selector, box)  # drawn, and wide enough to read
        assert box["bottom"] <= DESKTOP[1], f"{selector} ends at {box['bottom']:.0f} px, below the first screen"


def test_the_first_screen_check_sees_a_figure_below_the_fold(browser, tmp_path):
    """The same check on a page whose figure starts below 800 px, so that the test above can fail."""
    page = tmp_path / "low.html"  # its image a 1×1 PNG, shown 400×100
    page.write_text('<!DOCTYPE html><html><body><div style="height:900px"></div><figure id="fig-ratio_forest">'
                    '<img width="400" height="100" src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABC'
                    'AQAAAC1HAwCAAAAC0lEQVR42mNk+A8AAQUBAScY42YAAAAASUVORK5CYII="></figure></body></html>')
    seen = boxes(browser, page, DESKTOP, FIRST_SCREEN)
    assert seen["#fig-claims_overview img"] is None
    assert seen["#fig-ratio_forest img"]["bottom"] > DESKTOP[1]
