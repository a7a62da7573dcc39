"""Provider specifics the contract suite does not cover: endpoints, body flags, api_url overrides."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
import respx
from pydantic import ValidationError

from crawler.detect.mint import mint
from crawler.detect.rules import compile_rule
from crawler.http import make_client
from tests.verifiers.cases import CASES, XAI_KEY, provider_rule
from verifiers import VERIFIERS
from verifiers.base import Verdict

PROVIDERS = sorted(k for k, cls in VERIFIERS.items() if cls.rules)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as c:
        yield c


async def verify(kind: str, rule_id: str, prefix: str, client: httpx.AsyncClient, **extras: object) -> Verdict:
    rule = compile_rule(provider_rule(rule_id, prefix, kind))
    return await VERIFIERS[kind](CASES[kind].config(**extras), client).verify(mint(rule), rule)


async def test_github_installation_token_lists_repositories(client: httpx.AsyncClient,
                                                            no_network: respx.MockRouter) -> None:
    user = no_network.get("https://api.github.com/user").mock(return_value=httpx.Response(403))
    repos = no_network.get("https://api.github.com/installation/repositories").mock(
        return_value=httpx.Response(200, json={"total_count": 1, "repository_selection": "selected",
                                               "repositories": [{"id": 1296269, "full_name": "octocat/Hello-World"}]}))
    verdict = await verify("github", "github-server-to-server", "ghs_", client)
    assert verdict.status == "live"
    assert repos.calls.last.request.url.params["per_page"] == "1"
    assert not user.called


@pytest.mark.parametrize(("body", "expected"), [
    ({"active": False, "revoked": True}, "inactive"),
    ({"active": False, "revoked": False}, "inactive"),  # expired
    ({"active": True, "revoked": False}, "live"),
    ({"active": True}, "unknown"),
])
async def test_gitlab_reads_the_token_flags(body: dict[str, bool], expected: str, client: httpx.AsyncClient,
                                            no_network: respx.MockRouter) -> None:
    no_network.get(CASES["gitlab"].url).mock(return_value=httpx.Response(200, json={"id": 4, **body}))
    assert (await verify("gitlab", "gitlab-pat", "glpat-", client)).status == expected


@pytest.mark.parametrize(("flags", "expected"), [
    ({"api_key_disabled": True}, "inactive"),
    ({"api_key_blocked": True}, "inactive"),
    ({"team_blocked": True}, "unknown"),
    ({}, "live"),
])
async def test_xai_reads_the_key_flags(flags: dict[str, bool], expected: str, client: httpx.AsyncClient,
                                       no_network: respx.MockRouter) -> None:
    no_network.get(CASES["xai"].url).mock(return_value=httpx.Response(200, json={**XAI_KEY, **flags}))
    assert (await verify("xai", "xai-api-key", "xai-", client)).status == expected


async def test_supabase_account_without_projects_is_live(client: httpx.AsyncClient,
                                                         no_network: respx.MockRouter) -> None:
    no_network.get(CASES["supabase"].url).mock(return_value=httpx.Response(200, json=[]))
    assert (await verify("supabase", "supabase-access-token", "sbp_", client)).status == "live"


@pytest.mark.parametrize("error", ["invalid_auth", "account_inactive", "token_revoked", "token_expired"])
async def test_slack_dead_token_errors_are_inactive(error: str, client: httpx.AsyncClient,
                                                    no_network: respx.MockRouter) -> None:
    no_network.post(CASES["slack"].url).mock(return_value=httpx.Response(200, json={"ok": False, "error": error}))
    verdict = await verify("slack", "slack-user-token", "xoxp-", client)
    assert verdict == Verdict.inactive(f"Slack rejected the token ({error})")


async def test_stripe_restricted_key_without_balance_permission_is_live(client: httpx.AsyncClient,
                                                                         no_network: respx.MockRouter) -> None:
    no_network.get(CASES["stripe"].url).mock(return_value=httpx.Response(403, json={"error": {
        "message": "The provided key 'rk_live_***' does not have the required permissions for this endpoint",
        "type": "invalid_request_error"}}))
    assert (await verify("stripe", "stripe-restricted-key", "rk_live_", client)).status == "live"


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_api_url_override_is_used(kind: str, client: httpx.AsyncClient, no_network: respx.MockRouter) -> None:
    case = CASES[kind]
    default = VERIFIERS[kind].Options.model_fields["api_url"].default
    assert default.startswith("https://") and urlsplit(default).hostname in case.url
    base = "http://127.0.0.1:8765" + urlsplit(default).path
    real = no_network.route(method=case.method, url=case.url).mock(return_value=case.live.response())
    sandbox = no_network.route(method=case.method, url="http://127.0.0.1:8765" + urlsplit(case.url).path).mock(
        side_effect=lambda r: case.live.response())
    verdict = await VERIFIERS[kind](case.config(api_url=base + "/"), client).verify(
        mint(case.compiled), case.compiled)
    assert verdict.status == "live"
    assert sandbox.called and not real.called


@pytest.mark.parametrize("kind", PROVIDERS)
def test_api_url_must_be_https_off_loopback(kind: str) -> None:
    with pytest.raises(ValidationError, match="https"):
        VERIFIERS[kind].Options.model_validate({"api_url": "http://api.example.com"})


@pytest.mark.parametrize("kind", sorted(VERIFIERS))
async def test_requests_carry_the_verifier_timeout(kind: str, client: httpx.AsyncClient,
                                                   no_network: respx.MockRouter,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES[kind]
    monkeypatch.setenv("ACME_INTROSPECT_SECRET", "fake")
    route = no_network.route(method=case.method, url=case.url).mock(side_effect=lambda r: case.live.response())
    config = case.config().model_copy(update={"timeout": 2.5})
    await VERIFIERS[kind](config, client).verify(mint(case.compiled), case.compiled)
    assert route.calls.last.request.extensions["timeout"]["read"] == 2.5
