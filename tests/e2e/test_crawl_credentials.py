"""Without GITHUB_TOKEN the GitHub sources disable themselves with one log line each, and the other
sources keep running (issue 3, acceptance 4) — through the real ``crawl`` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.demo.sandbox import SandboxThread

pytestmark = pytest.mark.e2e


def test_missing_github_token_disables_only_github_sources(tmp_path: Path) -> None:
    with SandboxThread(poll_interval=1.0) as sb:
        cfg = sb.write_config(tmp_path / "lp.toml", "http://127.0.0.1:9/", "WH_SECRET", tmp_path / "data",
                              source_options={"pastebin": {"item_delay": 0}})
        env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GITLAB_TOKEN")}
        env.update({k: v for k, v in sb.environment().items() if k != "GITHUB_TOKEN"})
        env["WH_SECRET"] = "whsec_" + "A" * 32
        token = sb.mint(live=False)
        sb.publish_to("pastebin", f"leaked: {token}\n")
        sb.publish_to("github_gists", f"X={sb.mint(live=False)}\n")
        proc = subprocess.run([sys.executable, "-m", "crawler", "crawl", "-c", str(cfg)], env=env,
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for name in ("github_events", "github_gists", "github_search"):
        lines = [ln for ln in proc.stderr.splitlines() if f"source {name}:" in ln]
        assert len(lines) == 1, proc.stderr
        assert "GITHUB_TOKEN" in lines[0] and "disabled" in lines[0]
        assert not any(ln.startswith(name) for ln in proc.stdout.splitlines())  # never polled
    polled = {ln.split()[0]: ln for ln in proc.stdout.splitlines() if ln and not ln.startswith("new ")}
    assert "ok" in polled["pastebin"] and "gitlab_snippets" in polled
    assert polled["pastebin"].split()[1] == "1"  # the paste was fetched and scanned
    assert token not in proc.stdout + proc.stderr
    assert "demo_live_" in proc.stdout  # the paste's token is listed, redacted
