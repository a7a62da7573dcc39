"""Issuer hooks (``--exec``, ``--handler``) and the ``leakpatrol receiver`` entry point."""

from __future__ import annotations

import json
import logging
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from crawler.detect.mint import mint
from crawler.kernel.errors import ConfigError, HookFailed
from crawler.kernel.serve import parse_listen
from crawler.notifiers.webhook import payload
from crawler.receiver.app import create_app, verify_webhook
from crawler.receiver.run import build_receiver, exec_hook, import_handler, run_receiver
from tests.notifiers.helpers import RULE, exposure_event, new_secret

RECORDER = """
import json, os, sys
out = sys.argv[1]
record = {"argv": sys.argv, "stdin": sys.stdin.read(),
          "env": {k: v for k, v in os.environ.items() if k.startswith("LEAKPATROL_")}}
with open(out, "w") as fh:
    json.dump(record, fh)
sys.exit(int(os.environ.get("HOOK_EXIT", "0")))
"""


@pytest.fixture
def token() -> str:
    return mint(RULE)


@pytest.fixture
def recorder(tmp_path: Path) -> tuple[list[str], Path]:
    script = tmp_path / "hook.py"
    script.write_text(textwrap.dedent(RECORDER))
    out = tmp_path / "record.json"
    return [sys.executable, str(script), str(out)], out


def event(token: str, *, send_token: bool = True) -> dict[str, Any]:
    return payload(exposure_event(token), send_token=send_token)


async def test_exec_hook_gets_the_token_on_stdin_and_env_never_argv(recorder: tuple[list[str], Path],
                                                                    token: str) -> None:
    cmd, out = recorder
    await exec_hook(cmd)(event(token))
    record = json.loads(out.read_text())
    assert not any(token in arg for arg in record["argv"])
    assert json.loads(record["stdin"])["data"]["token"] == token
    assert record["env"]["LEAKPATROL_TOKEN"] == token
    assert record["env"]["LEAKPATROL_RULE"] == "acme-live"
    assert record["env"]["LEAKPATROL_TOKEN_SHA256"] == event(token)["data"]["token_sha256"]


async def test_exec_hook_without_token_sets_only_the_hash(recorder: tuple[list[str], Path], token: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKPATROL_TOKEN", "stale-from-parent")
    cmd, out = recorder
    await exec_hook(cmd)(event(token, send_token=False))
    env = json.loads(out.read_text())["env"]
    assert "LEAKPATROL_TOKEN" not in env and len(env["LEAKPATROL_TOKEN_SHA256"]) == 64


async def test_exec_hook_nonzero_exit_fails(recorder: tuple[list[str], Path], token: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_EXIT", "3")
    with pytest.raises(HookFailed, match="status 3"):
        await exec_hook(recorder[0])(event(token))


async def test_exec_hook_timeout_kills_the_command(tmp_path: Path, token: str) -> None:
    script = tmp_path / "hang.py"
    script.write_text("import sys, time\nsys.stdin.read()\ntime.sleep(60)\n")
    with pytest.raises(HookFailed, match="did not finish"):
        await exec_hook([sys.executable, str(script)], timeout=0.2)(event(token))


async def test_exec_hook_failure_through_the_app_is_5xx_and_logs_no_token(
        tmp_path: Path, token: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    script = tmp_path / "leaky.py"
    script.write_text("import os, sys\nsys.stderr.write('cannot revoke ' + os.environ['LEAKPATROL_TOKEN'])\n"
                      "sys.exit(1)\n")
    secret = new_secret()
    app = create_app(secret, exec_hook([sys.executable, str(script)]))
    body = json.dumps(event(token))
    stamp = int(time.time())
    headers = {"webhook-id": "msg_x", "webhook-timestamp": str(stamp),
               "webhook-signature": Webhook(secret).sign("msg_x", datetime.fromtimestamp(stamp, UTC), body)}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r") as client:
        resp = await client.post("/", content=body, headers=headers)
    assert resp.status_code == 500
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "cannot revoke [token]" in text and token not in text


def test_verify_webhook_helper(token: str) -> None:
    secret = new_secret()
    body = json.dumps(event(token))
    stamp = int(time.time())
    headers = {"Webhook-Id": "m", "Webhook-Timestamp": str(stamp),
               "Webhook-Signature": Webhook(secret).sign("m", datetime.fromtimestamp(stamp, UTC), body)}
    assert verify_webhook(secret, body.encode(), headers)["data"]["token"] == token
    with pytest.raises(Exception, match="signature"):
        verify_webhook(new_secret(), body, headers)


def test_import_handler() -> None:
    assert import_handler("json:dumps") is json.dumps
    assert import_handler("os.path:join") is __import__("os").path.join
    with pytest.raises(ValueError, match="module:function"):
        import_handler("json")
    with pytest.raises(AttributeError):
        import_handler("json:nope")
    with pytest.raises(ValueError, match="not callable"):
        import_handler("json:__name__")


@pytest.mark.parametrize(("value", "expected"), [
    ("127.0.0.1:8787", ("127.0.0.1", 8787)), ("0.0.0.0:80", ("0.0.0.0", 80)), ("[::1]:9000", ("::1", 9000)),
    (":8787", ("127.0.0.1", 8787)), ("localhost:1", ("localhost", 1)),
])
def test_parse_listen(value: str, expected: tuple[str, int]) -> None:
    assert parse_listen(value) == expected


@pytest.mark.parametrize("value", ["8787", "host:", "host:http", "host:0", "host:70000", ""])
def test_parse_listen_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_listen(value)


def test_build_receiver_checks_its_inputs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    state = tmp_path / "seen.db"
    with pytest.raises(ConfigError, match="ISSUER_SECRET is not set"):
        build_receiver("ISSUER_SECRET", "true", None, state)
    monkeypatch.setenv("ISSUER_SECRET", "whsec_")
    with pytest.raises(ConfigError, match="whsec_<base64>"):
        build_receiver("ISSUER_SECRET", "true", None, state)
    monkeypatch.setenv("ISSUER_SECRET", new_secret())
    with pytest.raises(ConfigError, match="exactly one"):
        build_receiver("ISSUER_SECRET", "true", "json:dumps", state)
    with pytest.raises(ConfigError, match="exactly one"):
        build_receiver("ISSUER_SECRET", None, None, state)
    with pytest.raises(ConfigError, match="command not found: no-such-revoker"):
        build_receiver("ISSUER_SECRET", "no-such-revoker --now", None, state)
    with pytest.raises(ConfigError, match="cannot import"):
        build_receiver("ISSUER_SECRET", None, "no_such_module_xyz:revoke", state)
    app = build_receiver("ISSUER_SECRET", f"{sys.executable} -c pass", None, state)
    assert state.exists()
    app.state.seen.close()


def test_run_receiver_usage_errors_exit_2(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    assert run_receiver(None, "MISSING_RECEIVER_SECRET", "true", None, tmp_path / "s.db") == 2
    assert "MISSING_RECEIVER_SECRET" in caplog.text
    assert run_receiver("nonsense", "MISSING_RECEIVER_SECRET", "true", None, None) == 2
    assert "HOST:PORT" in caplog.text


def test_build_receiver_checks_the_partner_keys_flags(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from crawler.kernel.partner import GITHUB_KEYS_URL

    monkeypatch.setenv("ISSUER_SECRET", new_secret())
    hook, state = f"{sys.executable} -c pass", tmp_path / "seen.db"
    with pytest.raises(ConfigError, match=r"--github-keys-url.*must use https"):
        build_receiver("ISSUER_SECRET", hook, None, state, keys_url="http://keys.example/meta")
    with pytest.raises(ConfigError, match=r"--github-keys-file.*no-such\.json"):
        build_receiver("ISSUER_SECRET", hook, None, state, keys_file=tmp_path / "no-such.json")
    bad = tmp_path / "keys.json"
    bad.write_text('{"keys": []}')
    with pytest.raises(ConfigError, match='no "public_keys" array'):
        build_receiver("ISSUER_SECRET", hook, None, state, keys_file=bad)
    with pytest.raises(ConfigError, match="at most one"):
        build_receiver("ISSUER_SECRET", hook, None, state, keys_url=GITHUB_KEYS_URL, keys_file=bad)
    for keys_url in (None, "http://127.0.0.1:9464/meta/public_keys/secret_scanning"):
        app = build_receiver("ISSUER_SECRET", hook, None, state, keys_url=keys_url)
        assert [r.path for r in app.routes][-1] == "/github/secret-scanning"  # type: ignore[attr-defined]
        app.state.seen.close()


@pytest.mark.parametrize(("said", "label"), [("false_positive\n", "false_positive"), ("true_positive", "true_positive"),
                                             ("revoked\n", None), ("", None)])
async def test_an_exec_hook_answers_partner_feedback_on_its_first_line(tmp_path: Path, token: str, said: str,
                                                                       label: str | None) -> None:
    script = tmp_path / "label.py"
    script.write_text(f"import sys\nsys.stdin.read()\nprint({said!r}, end='')\n")
    assert await exec_hook([sys.executable, str(script)])(event(token)) == label
