"""``leakpatrol scan --verify``: each finding is checked by its rule's verifier; without ``--verify``
not a single HTTP request is made (the autouse respx router is strict)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest
import respx

from crawler.config.model import RuleConfig
from crawler.detect.mint import mint
from crawler.detect.rules import compile_rule
from tests.cli.helpers import run

WHOAMI = "https://api.acme.example/v1/whoami"
CONFIG = f"""
[scanner]
builtin_rules = false

[[rules]]
id = "acme-live"
prefix = "acme_live_"
charset = "base62"
length = 36
checksum = "crc32-base62"
verifier = "acme-whoami"

[[rules]]
id = "acme-test"
prefix = "acme_test_"
charset = "base62"
length = 30

[[verifiers]]
id = "acme-whoami"
kind = "http"
url = "{WHOAMI}"
headers = {{ Authorization = "Bearer {{token}}" }}
live_status = [200]
inactive_status = [401, 403]
rate_per_second = 1e6
"""
LIVE_RULE = compile_rule(RuleConfig(id="acme-live", prefix="acme_live_", charset="base62", length=36,
                                    checksum="crc32-base62"))
TEST_RULE = compile_rule(RuleConfig(id="acme-test", prefix="acme_test_", charset="base62", length=30))


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "leakpatrol.toml").write_text(CONFIG, encoding="utf-8")
    tokens = {"live": mint(LIVE_RULE), "revoked": mint(LIVE_RULE), "noverifier": mint(TEST_RULE)}
    (tmp_path / "app.env").write_text("".join(f"{name.upper()}={tok}\n" for name, tok in tokens.items()),
                                      encoding="utf-8")
    return tokens


def _whoami(router: respx.MockRouter, live_token: str) -> respx.Route:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") == f"Bearer {live_token}":
            return httpx.Response(200, json={"account": "acme-test-account"})
        return httpx.Response(401, json={"error": "invalid_token"})

    return router.get(WHOAMI).mock(side_effect=answer)


def _status(doc: dict[str, list[dict[str, str]]], token: str) -> str:
    fp = hashlib.sha256(token.encode()).hexdigest()
    return next(f["status"] for f in doc["findings"] if f["fingerprint"] == fp)


def test_verify_reports_live_and_inactive(tree: dict[str, str], capsys: pytest.CaptureFixture[str],
                                          no_network: respx.MockRouter) -> None:
    route = _whoami(no_network, tree["live"])
    res = run(capsys, "scan", "app.env", "--verify", "--format", "json")
    assert res.code == 1, res.err
    doc = res.json()
    assert _status(doc, tree["live"]) == "live"
    assert _status(doc, tree["revoked"]) == "inactive"
    assert _status(doc, tree["noverifier"]) == "unknown"
    assert route.call_count == 2, "only the rule with a verifier is checked, once per token"
    sent = {call.request.headers["authorization"] for call in route.calls}
    assert sent == {f"Bearer {tree['live']}", f"Bearer {tree['revoked']}"}
    for token in tree.values():
        assert token not in res.out and token not in res.err, "--verify does not reveal tokens"


def test_verify_in_text_output(tree: dict[str, str], capsys: pytest.CaptureFixture[str],
                               no_network: respx.MockRouter) -> None:
    _whoami(no_network, tree["live"])
    res = run(capsys, "scan", "app.env", "--verify")
    assert res.code == 1, res.err
    lines = res.out.splitlines()
    assert "[live:" in lines[0] and "[inactive:" in lines[1] and "[unknown:" in lines[2]


def test_verify_timeout_is_unknown(tree: dict[str, str], capsys: pytest.CaptureFixture[str],
                                   no_network: respx.MockRouter) -> None:
    no_network.get(WHOAMI).mock(side_effect=httpx.ConnectTimeout("timed out"))
    res = run(capsys, "scan", "app.env", "--verify", "--format", "json")
    assert res.code == 1, res.err
    assert {f["status"] for f in res.json()["findings"]} == {"unknown"}


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_no_request_without_verify(tree: dict[str, str], capsys: pytest.CaptureFixture[str],
                                   no_network: respx.MockRouter, fmt: str) -> None:
    route = _whoami(no_network, tree["live"])
    res = run(capsys, "scan", "app.env", "--format", fmt)
    assert res.code == 1, res.err
    assert not route.called
    assert no_network.calls.call_count == 0
    if fmt == "json":
        assert all("status" not in f for f in res.json()["findings"])

