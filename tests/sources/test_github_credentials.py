"""GitHub credentials of the push sources: several personal tokens and GitHub App installations,
each request with the credential that has the most budget left, ``X-RateLimit-*`` and secondary
limits honoured per credential. Answers carry the header shapes GitHub really sends (recorded:
``tests/realworld/recordings/github.core_budget`` and ``github.installation_token``, PyGithub)."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from crawler.kernel.errors import ConfigError, RateLimited
from crawler.plugins import build_config
from sources.github_events import GithubEvents
from tests.realworld.replay import load
from tests.sources.helpers import Clock, make_source

API = "https://api.github.com"
EVENTS = f"{API}/events"
BUDGET = load("github.core_budget")
INSTALLATION = load("github.installation_token")
ABUSE = load("github.abuse_limited")


def budget(clock: Clock, remaining: int, reset_in: float = 3600.0, data: Any = ()) -> httpx.Response:
    """The recorded 200's headers with this credential's numbers."""
    headers = [(k, v) for k, v in BUDGET.headers if k.lower() not in ("x-ratelimit-remaining", "x-ratelimit-reset",
                                                                      "content-length")]
    headers += [("X-RateLimit-Remaining", str(remaining)),
                ("X-RateLimit-Reset", str(int(clock.epoch() + reset_in)))]
    return httpx.Response(200, headers=headers, content=json.dumps(list(data)).encode())


def used(route: respx.Route) -> list[str]:
    return [c.request.headers.get("Authorization", "") for c in route.calls]


@pytest.fixture
def tokens(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {"GH_A": "ghp_test_credential_a", "GH_B": "ghp_test_credential_b"}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    return values


async def listing(source: GithubEvents) -> None:
    await source.ctx.get_json(EVENTS)


async def test_each_request_goes_with_the_credential_that_has_most_budget_left(
        tokens: dict[str, str], no_network: respx.MockRouter) -> None:
    clock = Clock()
    src = make_source(GithubEvents, {"token_env": "GH_A", "token_envs": ["GH_B"]}, clock)
    answers = iter([budget(clock, 40), budget(clock, 900), budget(clock, 899), budget(clock, 39)])
    route = no_network.get(EVENTS).mock(side_effect=lambda _: next(answers))
    for _ in range(4):
        await listing(src)  # type: ignore[arg-type]
    a, b = f"Bearer {tokens['GH_A']}", f"Bearer {tokens['GH_B']}"
    # first A (nothing known, the first listed), then B (unknown beats 40), then B (899 > 40) again
    assert used(route) == [a, b, b, b]


async def test_a_spent_pool_waits_for_the_earliest_reset_without_sending_anything(
        tokens: dict[str, str], no_network: respx.MockRouter) -> None:
    clock = Clock()
    src = make_source(GithubEvents, {"token_env": "GH_A", "token_envs": ["GH_B"]}, clock)
    answers = iter([budget(clock, 1, reset_in=900), budget(clock, 1, reset_in=300),  # A, then B (unknown)
                    budget(clock, 0, reset_in=900), budget(clock, 0, reset_in=300)])  # each one's last request
    route = no_network.get(EVENTS).mock(side_effect=lambda _: next(answers))
    for _ in range(4):
        await listing(src)  # type: ignore[arg-type]
    route.side_effect = None
    route.return_value = budget(clock, 4999)
    with pytest.raises(RateLimited) as waited:
        await listing(src)  # type: ignore[arg-type]
    assert route.call_count == 4  # no request went out to collect a 403
    assert 299 <= waited.value.retry_after <= 300  # B comes back first
    clock.t += timedelta(seconds=301)
    await listing(src)  # type: ignore[arg-type]
    assert used(route)[-1] == f"Bearer {tokens['GH_B']}"


async def test_a_secondary_limit_blocks_that_credential_and_the_request_goes_with_the_next(
        tokens: dict[str, str], no_network: respx.MockRouter) -> None:
    clock = Clock()
    src = make_source(GithubEvents, {"token_env": "GH_A", "token_envs": ["GH_B"]}, clock)
    answers = iter([ABUSE.response(), budget(clock, 4000), budget(clock, 3999)])
    route = no_network.get(EVENTS).mock(side_effect=lambda _: next(answers))
    resp, _ = await src.ctx.get_json(EVENTS)
    assert resp.status_code == 200
    await listing(src)  # type: ignore[arg-type]
    a, b = f"Bearer {tokens['GH_A']}", f"Bearer {tokens['GH_B']}"
    assert used(route) == [a, b, b]  # A waits out its Retry-After: 60
    assert ABUSE.header("Retry-After") == "60"


async def test_a_rate_limit_on_the_only_credential_backs_the_source_off(
        tokens: dict[str, str], no_network: respx.MockRouter) -> None:
    src = make_source(GithubEvents, {"token_env": "GH_A"}, Clock())
    no_network.get(EVENTS).mock(return_value=ABUSE.response())
    with pytest.raises(RateLimited) as waited:
        await listing(src)  # type: ignore[arg-type]
    assert waited.value.retry_after == 60


async def test_credentials_go_only_to_the_api_host(tokens: dict[str, str], no_network: respx.MockRouter) -> None:
    src = make_source(GithubEvents, {"token_env": "GH_A"}, Clock())
    raw = no_network.get("https://raw.githubusercontent.com/o/r/1/f.bin").mock(return_value=httpx.Response(200))
    await src.ctx.request("https://raw.githubusercontent.com/o/r/1/f.bin")
    assert "Authorization" not in raw.calls.last.request.headers


def private_key() -> tuple[str, rsa.RSAPublicKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return pem, key.public_key()


def installation(token: str, expires: str) -> httpx.Response:
    body = {**INSTALLATION.json(), "token": token, "expires_at": expires}
    return INSTALLATION.response(data=body)


APP = {"app_id": 1234, "installation_id": 29782936, "private_key_env": "GH_APP_KEY"}
TOKENS_URL = f"{API}/app/installations/29782936/access_tokens"


async def test_a_github_app_signs_a_jwt_for_its_installation_token_and_refreshes_it_before_expiry(
        monkeypatch: pytest.MonkeyPatch, no_network: respx.MockRouter) -> None:
    pem, public = private_key()
    monkeypatch.setenv("GH_APP_KEY", pem)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    clock = Clock()  # 2026-11-28 22:00 UTC
    src = make_source(GithubEvents, {"apps": [APP]}, clock)
    issued = iter([installation("ghs_first_installation_token", "2026-11-28T23:00:00Z"),
                   installation("ghs_second_installation_token", "2026-11-29T00:00:00Z")])
    tokens = no_network.post(TOKENS_URL).mock(side_effect=lambda _: next(issued))
    events = no_network.get(EVENTS).mock(return_value=budget(clock, 4999))
    await listing(src)  # type: ignore[arg-type]
    await listing(src)  # type: ignore[arg-type]
    assert tokens.call_count == 1
    signed = tokens.calls.last.request.headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(signed, public, algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False})
    assert claims["iss"] == "1234" and 0 < claims["exp"] - claims["iat"] <= 600
    assert claims["iat"] <= clock.epoch() < claims["exp"]
    assert used(events) == ["Bearer ghs_first_installation_token"] * 2
    clock.t += timedelta(minutes=56)  # 4 minutes before it expires: a new one first
    await listing(src)  # type: ignore[arg-type]
    assert tokens.call_count == 2 and used(events)[-1] == "Bearer ghs_second_installation_token"


async def test_an_app_github_refuses_is_left_out_and_the_personal_token_used(
        tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch, no_network: respx.MockRouter,
        caplog: pytest.LogCaptureFixture) -> None:
    pem, _ = private_key()
    monkeypatch.setenv("GH_APP_KEY", pem)
    clock = Clock()
    src = make_source(GithubEvents, {"token_env": "GH_A", "apps": [APP]}, clock)
    no_network.post(TOKENS_URL).mock(return_value=httpx.Response(
        401, json={"message": "A JSON web token could not be decoded"}))
    events = no_network.get(EVENTS).mock(return_value=budget(clock, 10))
    src.pool.creds.reverse()  # the app first, to be sure it is tried
    await listing(src)  # type: ignore[arg-type]
    await listing(src)  # type: ignore[arg-type]
    assert used(events) == [f"Bearer {tokens['GH_A']}"] * 2
    assert any("GitHub App 1234" in m and "no installation token" in m for m in caplog.messages)
    assert not any(pem[40:80] in m for m in caplog.messages)


def test_an_app_alone_is_enough_and_nothing_at_all_disables_the_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.setenv("GH_APP_KEY", "-----BEGIN PRIVATE KEY-----\nnot checked here\n-----END PRIVATE KEY-----\n")
    with_app = GithubEvents.Options.model_validate({"apps": [APP]})
    assert GithubEvents.missing_credentials(with_app) is None
    monkeypatch.delenv("GH_APP_KEY")
    why = GithubEvents.missing_credentials(with_app)
    assert why is not None and "GITHUB_TOKEN" in why and "GitHub App" in why


@pytest.mark.parametrize(("app", "key"), [({**APP, "app_id": 0}, "app_id"), ({**APP, "color": "red"}, "color"),
                                          ({"installation_id": 1}, "app_id")])
def test_a_bad_app_table_is_a_config_error_naming_its_key(app: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_config({"sources": {"github_events": {"apps": [app]}}})
    assert key in str(err.value) and "apps" in str(err.value)


async def test_two_sources_of_one_engine_spend_one_budget_per_credential(
        tokens: dict[str, str], no_network: respx.MockRouter) -> None:
    """The events feed and the archive use the same tokens: what one spent, the other knows."""
    clock = Clock()
    shared: dict[str, Any] = {}
    built = [make_source(GithubEvents, {"token_env": "GH_A"}, clock) for _ in range(2)]
    feed, other = (GithubEvents(s.options, dataclasses.replace(s.ctx, shared=shared)) for s in built)  # as the engine
    no_network.get(EVENTS).mock(return_value=budget(clock, 1, reset_in=600))
    await listing(feed)  # type: ignore[arg-type]
    await listing(feed)  # type: ignore[arg-type]  # its last request
    with pytest.raises(RateLimited):
        await listing(other)  # type: ignore[arg-type]
