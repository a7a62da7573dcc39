"""The receiver's GitHub secret-scanning partner route: GitHub's published test vector, tampering,
key rotation and refetch, bad input (each a clear 4xx, the hook not run, nothing stored), feedback."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from starlette.applications import Starlette

from crawler.detect.mint import mint
from crawler.kernel.partner import KEY_ID_HEADER, SIGNATURE_HEADER, SigningKeys, generate_pem, parse_signing_keys
from crawler.receiver.app import create_app
from crawler.receiver.partner import MAX_ALERTS, MAX_BODY, PATH, PartnerKeys
from tests.notifiers.helpers import RULE, new_secret

VECTOR = json.loads((Path(__file__).parents[1] / "fixtures" / "github_partner" / "test_vector.json").read_text())
KEYS_URL = "https://api.github.com/meta/public_keys/secret_scanning"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Hook:
    """Records events; answers with ``label`` (feedback) or raises ``fail``."""

    def __init__(self, label: object = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.label = label
        self.fail: Exception | None = None

    async def __call__(self, event: dict[str, Any]) -> object:
        self.events.append(event)
        if self.fail is not None:
            raise self.fail
        return self.label


def keys_doc(*entries: tuple[str, str]) -> dict[str, Any]:
    """GitHub's documented shape of ``/meta/public_keys/secret_scanning``."""
    return {"public_keys": [{"key_identifier": kid, "key": pem, "is_current": i == 0}
                            for i, (kid, pem) in enumerate(entries)]}


def vector_doc() -> dict[str, Any]:
    return keys_doc((VECTOR["key_identifier"], VECTOR["public_key"]))


@pytest.fixture
def signer() -> SigningKeys:
    return parse_signing_keys(generate_pem(), "test")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def post() -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    async def send(app: Starlette, body: bytes, headers: dict[str, str]) -> httpx.Response:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://receiver")
        clients.append(client)
        return await client.post(PATH, content=body, headers={"content-type": "application/json", **headers})

    yield send
    for client in clients:
        await client.aclose()


def app_with(hook: Hook, keys: PartnerKeys) -> Starlette:
    return create_app(new_secret(), hook, partner_keys=keys)


def stored(app: Starlette) -> int:
    return int(app.state.seen._db.execute("SELECT COUNT(*) FROM seen").fetchone()[0])


def serve_keys(router: respx.MockRouter, *docs: dict[str, Any]) -> respx.Route:
    return router.get(KEYS_URL).mock(side_effect=[httpx.Response(200, json=d) for d in docs])


def vector_headers(signature: str | None = None) -> dict[str, str]:
    return {KEY_ID_HEADER: VECTOR["key_identifier"], SIGNATURE_HEADER: signature or VECTOR["signature"]}


def flip(text: str, at: int) -> str:
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1:]


# -- GitHub's published test vector ----------------------------------------------------------------


async def test_githubs_published_test_vector_verifies(post: Any, no_network: respx.MockRouter, clock: Clock) -> None:
    route = serve_keys(no_network, vector_doc())
    hook = Hook()
    resp = await post(app_with(hook, PartnerKeys(url=KEYS_URL, clock=clock)), VECTOR["payload"].encode(),
                      vector_headers())
    assert resp.status_code == 200 and resp.json() == []
    assert route.call_count == 1
    [event] = hook.events
    data = event["data"]
    assert event["type"] == "token.exposed"
    assert (data["token"], data["rule"], data["url"], data["source"]) == ("some_token", "some_type", "some_url",
                                                                         "github_partner")
    assert data["token_sha256"] == hashlib.sha256(b"some_token").hexdigest()


@pytest.mark.parametrize("at", [2, 10, 30, 59])
async def test_one_flipped_byte_in_the_body_is_401(post: Any, no_network: respx.MockRouter, clock: Clock,
                                                   at: int) -> None:
    serve_keys(no_network, vector_doc())
    hook = Hook()
    app = app_with(hook, PartnerKeys(url=KEYS_URL, clock=clock))
    body = bytearray(VECTOR["payload"].encode())
    body[at] ^= 0x01
    resp = await post(app, bytes(body), vector_headers())
    assert resp.status_code == 401 and hook.events == [] and stored(app) == 0


@pytest.mark.parametrize("at", [0, 8, 20, 40, 60, 90])
async def test_one_flipped_byte_in_the_signature_is_401(post: Any, no_network: respx.MockRouter, clock: Clock,
                                                        at: int) -> None:
    serve_keys(no_network, vector_doc())
    hook = Hook()
    raw = bytearray(base64.b64decode(VECTOR["signature"]))
    raw[at % len(raw)] ^= 0x01
    resp = await post(app_with(hook, PartnerKeys(url=KEYS_URL, clock=clock)), VECTOR["payload"].encode(),
                      vector_headers(base64.b64encode(bytes(raw)).decode()))
    assert resp.status_code == 401 and hook.events == []


async def test_keys_from_a_file_work_offline(post: Any, tmp_path: Path, no_network: respx.MockRouter) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(vector_doc()))
    anything = no_network.route().respond(200)
    hook = Hook()
    resp = await post(app_with(hook, PartnerKeys(file=path)), VECTOR["payload"].encode(), vector_headers())
    assert resp.status_code == 200 and len(hook.events) == 1
    assert not anything.called


# -- key rotation -------------------------------------------------------------------------------------


async def test_rotation_old_key_accepted_until_removed(post: Any, no_network: respx.MockRouter, clock: Clock) -> None:
    old, new = (parse_signing_keys(generate_pem(), "k") for _ in range(2))
    old_pem, new_pem = (k.document()["public_keys"][0]["key"] for k in (old, new))
    both = keys_doc((new.current_id, new_pem), (old.current_id, old_pem))
    only_new = keys_doc((new.current_id, new_pem))
    route = serve_keys(no_network, both, only_new)
    keys = PartnerKeys(url=KEYS_URL, clock=clock)
    hook = Hook()
    app = app_with(hook, keys)
    body = json.dumps([{"token": "t1", "type": "acme", "url": "u"}]).encode()
    for signer in (new, old):  # both published: both accepted, one fetch
        assert (await post(app, body, signer.sign(body))).status_code == 200
    assert route.call_count == 1
    clock.now += 601  # the set is refreshed past its max age; the old key has been removed
    assert (await post(app, body, old.sign(body))).status_code == 401
    assert (await post(app, body, new.sign(body))).status_code == 200
    assert route.call_count == 2 and len(hook.events) == 3


async def test_an_unknown_identifier_refetches_at_most_once_a_minute(post: Any, no_network: respx.MockRouter,
                                                                     clock: Clock, signer: SigningKeys) -> None:
    other = parse_signing_keys(generate_pem(), "k")
    first = keys_doc((other.current_id, other.document()["public_keys"][0]["key"]))
    rotated = keys_doc(*((k["key_identifier"], k["key"]) for k in (signer.document()["public_keys"]
                                                                    + other.document()["public_keys"])))
    route = serve_keys(no_network, first, first, rotated)
    hook = Hook()
    app = app_with(hook, PartnerKeys(url=KEYS_URL, clock=clock))
    body = b'[{"token":"t","type":"acme"}]'
    assert (await post(app, body, other.sign(body))).status_code == 200
    clock.now += 61
    assert (await post(app, body, signer.sign(body))).status_code == 401  # refetched, still unknown
    assert route.call_count == 2
    for _ in range(5):  # within the minute: no fetch at all
        clock.now += 5
        assert (await post(app, body, signer.sign(body))).status_code == 401
    assert route.call_count == 2
    clock.now += 40  # a minute after the last fetch: the rotated set is fetched and the new key known
    assert (await post(app, body, signer.sign(body))).status_code == 200
    assert route.call_count == 3 and len(hook.events) == 2


async def test_unreachable_keys_answer_503_and_never_run_the_hook(post: Any, no_network: respx.MockRouter,
                                                                  clock: Clock, signer: SigningKeys) -> None:
    no_network.get(KEYS_URL).respond(502)
    hook = Hook()
    body = b'[{"token":"t","type":"acme"}]'
    resp = await post(app_with(hook, PartnerKeys(url=KEYS_URL, clock=clock)), body, signer.sign(body))
    assert resp.status_code == 503 and hook.events == []


# -- bad input: a clear 4xx, the hook not run, nothing stored --------------------------------------------


def _big_array() -> bytes:
    return json.dumps([{"token": f"t{i}", "type": "acme", "url": "u"} for i in range(10_000)]).encode()


BAD = {
    "unsigned": (b'[{"token":"t","type":"acme"}]', lambda s, b: {}, 401, "unsigned"),
    "signature-only": (b'[{"token":"t","type":"acme"}]', lambda s, b: {SIGNATURE_HEADER: s.sign(b)[SIGNATURE_HEADER]},
                       401, "unsigned"),
    "wrong-key-id": (b'[{"token":"t","type":"acme"}]', lambda s, b: {**s.sign(b), KEY_ID_HEADER: "f" * 64}, 401,
                     "unknown key identifier"),
    "not-base64-signature": (b'[{"token":"t","type":"acme"}]',
                             lambda s, b: {**s.sign(b), SIGNATURE_HEADER: "%%%"}, 401, "invalid signature"),
    "malformed-json": (b'[{"token":"t","type":', lambda s, b: s.sign(b), 400, "malformed JSON"),
    "not-an-array": (b'{"token":"t","type":"acme"}', lambda s, b: s.sign(b), 400, "not a JSON array"),
    "entry-without-token": (b'[{"type":"acme"}]', lambda s, b: s.sign(b), 400, "alert 0 has no token"),
    "entry-not-object": (b'[{"token":"t","type":"acme"}, 7]', lambda s, b: s.sign(b), 400, "alert 1 is not an object"),
    "10000-entries": (_big_array(), lambda s, b: s.sign(b), 413, f"at most {MAX_ALERTS}"),
    "10MB-body": (b"[" + b" " * (10 * 1024 * 1024) + b"]", lambda s, b: s.sign(b), 413, "larger than"),
}


@pytest.mark.parametrize("case", sorted(BAD))
async def test_bad_input_is_a_clear_4xx(post: Any, no_network: respx.MockRouter, clock: Clock, signer: SigningKeys,
                                        case: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    body, headers, status, says = BAD[case]
    serve_keys(no_network, signer.document(), signer.document())
    hook = Hook()
    app = app_with(hook, PartnerKeys(url=KEYS_URL, clock=clock))
    resp = await post(app, body, headers(signer, body))
    assert resp.status_code == status
    assert says in resp.json()["error"]
    assert hook.events == [] and stored(app) == 0
    assert len(body) > MAX_BODY or case != "10MB-body"


# -- hook, feedback, logs ---------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["true_positive", "false_positive", {"label": "false_positive"}])
async def test_the_hooks_label_is_the_feedback(post: Any, no_network: respx.MockRouter, clock: Clock,
                                               signer: SigningKeys, label: object) -> None:
    serve_keys(no_network, signer.document())
    token = mint(RULE)
    body = json.dumps([{"token": token, "type": "acme_api_token", "url": "https://github.com/o/r/blob/x/a.env",
                        "source": "commit"}]).encode()
    hook = Hook(label)
    resp = await post(app_with(hook, PartnerKeys(url=KEYS_URL, clock=clock)), body, signer.sign(body))
    want = label["label"] if isinstance(label, dict) else label
    assert resp.status_code == 200
    assert resp.json() == [{"token_hash": hashlib.sha256(token.encode()).hexdigest(), "token_type": "acme_api_token",
                            "label": want}]
    assert token not in resp.text
    assert hook.events[0]["data"]["github_source"] == "commit"


async def test_a_failing_hook_is_500_and_the_token_is_never_logged(post: Any, no_network: respx.MockRouter,
                                                                   clock: Clock, signer: SigningKeys,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    serve_keys(no_network, signer.document())
    token = mint(RULE)
    body = json.dumps([{"token": token, "type": "acme"}]).encode()
    hook = Hook()
    hook.fail = RuntimeError(f"could not revoke {token}")
    resp = await post(app_with(hook, PartnerKeys(url=KEYS_URL, clock=clock)), body, signer.sign(body))
    assert resp.status_code == 500
    assert token not in caplog.text and token[len(RULE.prefix):][:12] not in caplog.text
    assert "partner alert" in caplog.text
