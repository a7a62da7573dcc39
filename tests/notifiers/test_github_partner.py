"""The ``github_partner`` notifier: GitHub's alert body, the deployment key's signature, feedback
from the answer, the key file (rotation, absence) and the config rules around it."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import respx

from crawler.config.model import NotifierConfig
from crawler.http import make_client
from crawler.kernel.errors import ConfigError, SigningKeyError
from crawler.kernel.partner import (
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    DeploymentKey,
    generate_pem,
    parse_public_keys,
    parse_signing_keys,
    verify,
)
from crawler.notifiers.github_partner import GitHubPartnerNotifier
from crawler.plugins import build_config
from tests.notifiers.helpers import exposure_event

URL = "https://partner.acme.example/github/secret-scanning"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as c:
        yield c


@pytest.fixture
def key_file(tmp_path: Path) -> DeploymentKey:
    key = DeploymentKey("LEAKPATROL_SIGNING_KEY", tmp_path / "data" / "leakpatrol-signing.pem")
    assert key.create_if_missing()
    return key


def notifier(client: httpx.AsyncClient, key: DeploymentKey, **extra: object) -> GitHubPartnerNotifier:
    cfg = NotifierConfig(id="acme-partner", kind="github_partner", url=URL, **extra)
    return GitHubPartnerNotifier(cfg, client, deployment_key=key)


async def test_the_body_is_githubs_alert_array_signed_with_the_deployment_key(
        client: httpx.AsyncClient, no_network: respx.MockRouter, key_file: DeploymentKey, token: str) -> None:
    route = no_network.post(URL).respond(200)
    result = await notifier(client, key_file).send("msg_1", exposure_event(token))
    assert result.outcome == "delivered" and result.feedback is None
    request = route.calls.last.request
    assert json.loads(request.content) == [{"token": token, "type": "acme-live",
                                            "url": "https://gist.github.com/someone/abc123",
                                            "source": "github_gists"}]
    published = parse_public_keys(json.dumps(key_file.load().document()))
    key = published[request.headers[KEY_ID_HEADER]]
    assert verify(key, request.content, request.headers[SIGNATURE_HEADER])
    assert not verify(key, request.content.replace(b"github_gists", b"github_gistz"), request.headers[SIGNATURE_HEADER])


async def test_types_map_a_rule_to_the_issuers_token_type(client: httpx.AsyncClient, no_network: respx.MockRouter,
                                                          key_file: DeploymentKey, token: str) -> None:
    route = no_network.post(URL).respond(200)
    await notifier(client, key_file, types={"acme-live": "acme_api_token"}).send("m", exposure_event(token))
    assert json.loads(route.calls.last.request.content)[0]["type"] == "acme_api_token"


def _answers(token: str) -> dict[str, tuple[object, str | None]]:
    digest = hashlib.sha256(token.encode()).hexdigest()
    return {
        "by-hash": ([{"token_hash": digest, "token_type": "acme-live", "label": "false_positive"}], "false_positive"),
        "by-hash-upper": ([{"token_hash": digest.upper(), "token_type": "acme-live", "label": "true_positive"}],
                          "true_positive"),
        "by-raw": ([{"token_raw": token, "token_type": "acme-live", "label": "true_positive"}], "true_positive"),
        "other-token": ([{"token_hash": "0" * 64, "token_type": "acme-live", "label": "false_positive"}], None),
        "other-type": ([{"token_hash": digest, "token_type": "stripe", "label": "false_positive"}], None),
        "unknown-label": ([{"token_hash": digest, "token_type": "acme-live", "label": "maybe"}], None),
        "empty": ([], None),
        "object": ({"ok": True}, None),
        "not-json": ("<html>ok</html>", None),
    }


@pytest.mark.parametrize("case", sorted(_answers("x")))
async def test_feedback_in_the_answer(client: httpx.AsyncClient, no_network: respx.MockRouter,
                                      key_file: DeploymentKey, token: str, case: str) -> None:
    answer, label = _answers(token)[case]
    text = answer if isinstance(answer, str) else json.dumps(answer)
    no_network.post(URL).respond(200, text=text)
    result = await notifier(client, key_file).send("m", exposure_event(token))
    assert (result.outcome, result.feedback) == ("delivered", label)
    assert token not in result.detail


async def test_a_rotated_key_file_signs_with_its_first_key_and_publishes_both(
        client: httpx.AsyncClient, no_network: respx.MockRouter, tmp_path: Path, token: str) -> None:
    old, new = generate_pem(), generate_pem()
    path = tmp_path / "signing.pem"
    path.write_text(new + old)
    key = DeploymentKey("", path)
    doc = key.load().document()["public_keys"]
    assert [k["is_current"] for k in doc] == [True, False]
    route = no_network.post(URL).respond(200)
    await notifier(client, key).send("m", exposure_event(token))
    assert route.calls.last.request.headers[KEY_ID_HEADER] == doc[0]["key_identifier"]
    assert parse_signing_keys(old, "old").current_id == doc[1]["key_identifier"]


def test_the_key_file_is_private_and_never_overwritten(tmp_path: Path) -> None:
    key = DeploymentKey("", tmp_path / "k.pem")
    assert key.create_if_missing()
    first = key.path.read_text()
    assert stat.S_IMODE(os.stat(key.path).st_mode) == 0o600
    assert not key.create_if_missing() and key.path.read_text() == first


@pytest.mark.parametrize("content", ["", "hello", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"])
def test_a_bad_key_file_names_the_file_not_the_content(tmp_path: Path, content: str) -> None:
    path = tmp_path / "k.pem"
    path.write_text(content)
    with pytest.raises(SigningKeyError) as exc:
        DeploymentKey("LEAKPATROL_SIGNING_KEY", path).load()
    assert str(path) in str(exc.value) and (not content or content.strip() not in str(exc.value))


def test_an_rsa_or_other_curve_key_is_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    other = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    with pytest.raises(SigningKeyError, match="P-256"):
        parse_signing_keys(other, "somewhere")


def test_the_weekly_report_cannot_go_to_a_partner_endpoint() -> None:
    data = {"notifiers": [{"id": "acme-partner", "kind": "github_partner", "url": URL}],
            "report": {"notify": ["acme-partner"]}}
    with pytest.raises(ConfigError) as exc:
        build_config(data)
    assert exc.value.key == "report.notify" and "acme-partner" in str(exc.value)
