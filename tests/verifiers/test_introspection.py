"""The RFC 7662 verifier: form body, HTTP Basic client auth, and a missing secret."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from crawler.config.model import VerifierConfig
from crawler.detect.mint import mint
from crawler.http import make_client
from tests.verifiers.cases import CASES, CLIENT_SECRET, CLIENT_SECRET_ENV
from verifiers.introspection import IntrospectionVerifier, basic_auth

CASE = CASES["introspection"]
URL = CASE.url


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as c:
        yield c


def verifier(client: httpx.AsyncClient, **extras: object) -> IntrospectionVerifier:
    return IntrospectionVerifier(CASE.config(**extras), client)


async def test_sends_form_body_and_basic_auth(client: httpx.AsyncClient, no_network: respx.MockRouter,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CLIENT_SECRET_ENV, CLIENT_SECRET)
    route = no_network.post(URL).mock(return_value=httpx.Response(200, json={"active": True}))
    token = mint(CASE.compiled)
    verdict = await verifier(client).verify(token, CASE.compiled)
    assert verdict.status == "live"
    request = route.calls.last.request
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {"token": [token], "token_type_hint": ["access_token"]}
    expected = base64.b64encode(f"leakpatrol:{CLIENT_SECRET}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert token not in request.url.query.decode()


async def test_token_type_hint_is_configurable(client: httpx.AsyncClient, no_network: respx.MockRouter,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CLIENT_SECRET_ENV, CLIENT_SECRET)
    route = no_network.post(URL).mock(return_value=httpx.Response(200, json={"active": False}))
    verdict = await verifier(client, token_type_hint="refresh_token").verify(mint(CASE.compiled), CASE.compiled)
    assert verdict.status == "inactive"
    assert parse_qs(route.calls.last.request.content.decode())["token_type_hint"] == ["refresh_token"]


def test_basic_auth_form_urlencodes_both_parts() -> None:
    # RFC 6749 §2.3.1: "leak patrol" / "a:b" are encoded before they are joined with ":".
    header = basic_auth("leak patrol", "a:b")
    assert base64.b64decode(header.removeprefix("Basic ")).decode() == "leak%20patrol:a%3Ab"


async def test_missing_secret_is_unknown_without_a_request(client: httpx.AsyncClient,
                                                           no_network: respx.MockRouter,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    route = no_network.post(URL).mock(return_value=httpx.Response(200, json={"active": True}))
    v = verifier(client)
    token = mint(CASE.compiled)
    with caplog.at_level(logging.WARNING, logger="verifiers.introspection"):
        first = await v.verify(token, CASE.compiled)
        second = await v.verify(token, CASE.compiled)
    assert first.status == second.status == "unknown"
    assert CLIENT_SECRET_ENV in first.reason
    assert not route.called
    lines = [r.getMessage() for r in caplog.records if r.name == "verifiers.introspection"]
    assert len(lines) == 1 and CLIENT_SECRET_ENV in lines[0]
    assert token not in caplog.text


async def test_refused_client_credentials_are_unknown_not_inactive(client: httpx.AsyncClient,
                                                                   no_network: respx.MockRouter,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CLIENT_SECRET_ENV, CLIENT_SECRET)
    no_network.post(URL).mock(return_value=httpx.Response(401, json={"error": "invalid_client"}))
    verdict = await verifier(client).verify(mint(CASE.compiled), CASE.compiled)
    assert verdict.status == "unknown"
    assert "401" in verdict.reason


def test_options_require_url_and_client() -> None:
    with pytest.raises(ValueError, match="client_id"):
        IntrospectionVerifier(VerifierConfig(id="x", kind="introspection", url=URL,
                                             client_secret_env=CLIENT_SECRET_ENV), httpx.AsyncClient())
    with pytest.raises(ValueError, match="https"):
        IntrospectionVerifier.Options.model_validate({"url": "http://auth.acme.example/introspect",
                                                      "client_id": "a", "client_secret_env": "B"})
