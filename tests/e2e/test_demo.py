"""``leakpatrol demo`` as a user runs it: every planted live token caught and notified, through the
signed webhook and through GitHub's partner format (verified with the daemon's published keys), exit 0."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_the_demo_catches_every_token_and_shows_the_partner_route(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "crawler", "demo", str(tmp_path / "demo"), "--seconds", "6"],
                          capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    live = int(re.search(r"planted\s+(\d+) live", out)[1])  # type: ignore[index]
    assert f"notified  {live}/{live} signed webhooks" in out
    partner = re.search(r"partner\s+(\d+)/(\d+) secret-scanning partner alerts verified with the daemon's keys "
                        r"\(http://127\.0\.0\.1:\d+/meta/public_keys/secret_scanning\); feedback stored: (\d+) "
                        r"true_positive", out)
    assert partner is not None, out
    assert partner.groups() == (str(live), str(live), str(live))
    report = next((tmp_path / "demo").glob("leakpatrol-report-*.md")).read_text()
    assert f"| demo-live | {live} | 0 | 100% |" in report
