"""``leakpatrol receiver`` as an issuer starts it, taking a partner alert on
``POST /github/secret-scanning`` with ``--github-keys-file`` and answering the ``--exec`` hook's label."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from crawler.detect.mint import mint
from crawler.kernel.partner import generate_pem, parse_signing_keys
from tests.notifiers.helpers import RULE, new_secret

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_the_receiver_command_verifies_a_partner_alert_and_answers_the_hooks_label(tmp_path: Path) -> None:
    keys = parse_signing_keys(generate_pem(), "test")
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps(keys.document()))
    hook = tmp_path / "hook.py"
    hook.write_text("import json, sys\nevent = json.load(sys.stdin)\n"
                    "print('false_positive' if event['data']['github_source'] == 'commit' else 'true_positive')\n")
    port = free_port()
    env = {**os.environ, "ISSUER_SECRET": new_secret()}
    args = [sys.executable, "-m", "crawler", "receiver", "--listen", f"127.0.0.1:{port}", "--secret-env",
            "ISSUER_SECRET", "--exec", f"{sys.executable} {hook}", "--github-keys-file", str(keys_file),
            "--state", str(tmp_path / "seen.db")]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
    token = mint(RULE)
    body = json.dumps([{"token": token, "type": "acme_api_token", "url": "https://github.com/o/r/commit/1",
                        "source": "commit"}]).encode()
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                resp = httpx.post(f"http://127.0.0.1:{port}/github/secret-scanning", content=body,
                                  headers={"content-type": "application/json", **keys.sign(body)})
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline and proc.poll() is None, "the receiver did not start"
                time.sleep(0.1)
        unsigned = httpx.post(f"http://127.0.0.1:{port}/github/secret-scanning", content=body)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    assert resp.status_code == 200, resp.text
    assert resp.json() == [{"token_hash": hashlib.sha256(token.encode()).hexdigest(), "token_type": "acme_api_token",
                            "label": "false_positive"}]
    assert unsigned.status_code == 401
    log = err.decode()
    assert "/github/secret-scanning" in log and str(keys_file) in log
    assert token not in log and token not in resp.text
