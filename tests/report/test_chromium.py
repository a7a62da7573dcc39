"""The HTML report in real headless Chromium (Debian's ``chromium``): it loads, makes no request,
draws its charts and lists the seeded live tokens in redacted form.

Chromium runs with DNS mapped to nowhere, so nothing can leave the machine even if the page (or the
browser's own background services) tried. The page's own requests are told apart in Chromium's net
log by their initiator: the ``file://`` page has the opaque origin ``null``; the browser's own
background requests have none ("not an origin").
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from crawler.report.compute import Period, load_report
from crawler.report.render import render
from tests.report.seed import NOW, PERIOD_LABEL, new_store, seed_golden

pytestmark = pytest.mark.chromium
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND",
         "--enable-logging=stderr", "--v=0"]
FAILED = re.compile(r"Failed to load resource|net::ERR_")


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (CI must install Debian's chromium)")
        pytest.skip("chromium not installed")
    return path


def _run(tmp_path: Path, page: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    cmd = [_chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


def _page_requests(net_log: Path) -> list[str]:
    """URLs that the page itself asked for (initiator = the file page's opaque origin)."""
    log = json.loads(net_log.read_text(encoding="utf-8"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [e["params"].get("url", "?") for e in log["events"]
            if e["type"] == start and e.get("params", {}).get("initiator") not in (None, "not an origin")]


def _png_size(png: Path) -> tuple[int, int]:
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    tmp = tmp_path_factory.mktemp("chromium")
    store = new_store(tmp / "t.db")
    seed_golden(store)
    html = tmp / "report.html"
    html.write_text(render(load_report(store, Period.iso_week(PERIOD_LABEL), NOW), "html"), encoding="utf-8")
    live = [t.redacted for t in store.tokens(status=["live"])]
    return html, live


def test_html_has_no_remote_references(page: tuple[Path, list[str]]) -> None:
    text = page[0].read_text(encoding="utf-8")
    assert not re.search(r"""\b(?:src|srcset|poster|data)\s*=\s*["']?(?:https?:)?//""", text, re.I)
    assert not re.search(r"""<link\b[^>]*\bhref\s*=\s*["']?(?:https?:)?//""", text, re.I)
    assert not re.search(r"""url\(\s*["']?(?:https?:)?//|@import""", text, re.I)
    assert "<script" not in text.lower()


def test_screenshot_renders_without_requests(page: tuple[Path, list[str]], tmp_path: Path) -> None:
    png, net_log = tmp_path / "report.png", tmp_path / "net.json"
    proc = _run(tmp_path, page[0], f"--screenshot={png}", "--window-size=1280,2000", f"--log-net-log={net_log}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _png_size(png) == (1280, 2000)
    assert png.stat().st_size > 50_000  # a real page with charts, not a blank image
    assert not FAILED.findall(proc.stderr)
    assert _page_requests(net_log) == []


def test_dom_has_charts_and_the_live_tokens(page: tuple[Path, list[str]], tmp_path: Path) -> None:
    proc = _run(tmp_path, page[0], "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not FAILED.findall(proc.stderr)
    dom = LexborHTMLParser(proc.stdout)
    for chart in ("chart-by-source", "chart-by-rule", "chart-trend", "chart-timings"):
        assert dom.css_first(f"section#{chart} svg") is not None, chart
    assert len(dom.css("svg .series")) >= 5  # pygal drew its series (bars and lines)
    shown = [td.text(strip=True) for td in dom.css("section#still-live td.tok")]
    assert sorted(shown) == sorted(page[1]) and len(shown) == 4
    assert all(re.fullmatch(r"[a-z_]+_[A-Za-z0-9]{4}…sha256:[0-9a-f]{8}", s) for s in shown)


def test_the_net_log_check_catches_a_remote_resource(tmp_path: Path) -> None:
    """The no-request check is not vacuous: a page with a remote image is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><p>x</p><img src="https://example.invalid/pixel.png">', encoding="utf-8")
    net_log = tmp_path / "net.json"
    proc = _run(tmp_path, bad, "--dump-dom", f"--log-net-log={net_log}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _page_requests(net_log) == ["https://example.invalid/pixel.png"]
