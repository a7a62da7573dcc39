"""The generic ``http`` template verifier: substitution, status lists, and config validation."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import respx
from pydantic import ValidationError

from crawler.config.model import RuleConfig, VerifierConfig
from crawler.detect.mint import mint
from crawler.detect.rules import compile_rule
from crawler.http import make_client
from verifiers.http import HttpOptions, HttpVerifier

URL = "https://api.acme.example/v1/check"
RULE = compile_rule(RuleConfig(id="acme-key", prefix="acme_key_", charset="base62", length=32,
                               verifier="acme-check"))


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as c:
        yield c


def verifier(client: httpx.AsyncClient, **extras: object) -> HttpVerifier:
    return HttpVerifier(VerifierConfig(id="acme-check", kind="http", url=URL, rate_per_second=1e6, **extras),
                        client)


async def test_token_is_substituted_in_headers_and_body(client: httpx.AsyncClient,
                                                        no_network: respx.MockRouter) -> None:
    route = no_network.post(URL).mock(return_value=httpx.Response(200))
    v = verifier(client, method="POST", headers={"X-Api-Key": "{token}", "Content-Type": "application/json"},
                 body='{"key": "{token}", "dry_run": true}')
    token = mint(RULE)
    assert (await v.verify(token, RULE)).status == "live"
    request = route.calls.last.request
    assert request.headers["x-api-key"] == token
    assert request.content == f'{{"key": "{token}", "dry_run": true}}'.encode()
    assert token not in str(request.url)


async def test_bearer_header_template(client: httpx.AsyncClient, no_network: respx.MockRouter) -> None:
    route = no_network.get(URL).mock(return_value=httpx.Response(403))
    token = mint(RULE)
    verdict = await verifier(client, headers={"Authorization": "Bearer {token}"}).verify(token, RULE)
    assert verdict.status == "inactive"
    assert route.calls.last.request.headers["authorization"] == f"Bearer {token}"


@pytest.mark.parametrize(("status", "expected"), [(204, "live"), (404, "inactive"), (200, "unknown"),
                                                  (401, "unknown"), (429, "unknown")])
async def test_status_lists_decide(status: int, expected: str, client: httpx.AsyncClient,
                                   no_network: respx.MockRouter) -> None:
    no_network.head(URL).mock(return_value=httpx.Response(status))
    v = verifier(client, method="HEAD", headers={"Authorization": "Bearer {token}"},
                 live_status=[204], inactive_status=[404])
    assert (await v.verify(mint(RULE), RULE)).status == expected


@pytest.mark.parametrize(("extras", "problem"), [
    ({"url": URL + "?key={token}", "headers": {"A": "{token}"}}, "not in the URL"),
    ({"url": URL, "headers": {"Authorization": "Bearer"}}, "no {token} placeholder"),
    ({"url": URL, "headers": {"A": "{token}"}, "live_status": [200], "inactive_status": [200]}, "overlap"),
    ({"url": URL, "headers": {"A": "{token}"}, "method": "DELETE"}, "method"),
    ({"url": "http://api.acme.example/v1", "headers": {"A": "{token}"}}, "https"),
    ({"url": URL, "headers": {"A": "{token}"}, "header": {}}, "header"),
])
def test_invalid_options_are_rejected(extras: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        HttpOptions.model_validate(extras)


def test_loopback_url_may_use_plain_http() -> None:
    opts = HttpOptions.model_validate({"url": "http://127.0.0.1:8080/check", "headers": {"A": "{token}"}})
    assert opts.live_status == (200,) and opts.inactive_status == (401, 403)


async def test_an_answer_that_never_completes_is_unknown_within_the_deadline(
        client: httpx.AsyncClient, no_network: respx.MockRouter) -> None:
    """A trickled answer never trips the per-read timeout; the whole check has twice ``timeout``."""
    import asyncio
    import time

    async def trickle(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200)

    no_network.get(URL).mock(side_effect=trickle)
    started = time.monotonic()
    v = verifier(client, timeout=0.1, headers={"Authorization": "Bearer {token}"})
    verdict = await v.verify(mint(RULE), RULE)
    assert verdict.status == "unknown" and "no complete answer within 0.2s" in verdict.reason
    assert time.monotonic() - started < 5
