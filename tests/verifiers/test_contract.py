"""The five cases, run over every registered verifier (a new verifier gets them by adding a Case).

live; inactive; timeout → unknown; an unexpected status or body → unknown; no request at all for a
rule the verifier does not serve.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from crawler.config.model import RuleConfig
from crawler.detect.mint import mint
from crawler.detect.rules import compile_rule
from crawler.http import make_client
from tests.verifiers.cases import CASES, CLIENT_SECRET, CLIENT_SECRET_ENV, NOT_SERVED, Case, Reply
from verifiers import VERIFIERS
from verifiers.base import Verdict

KINDS = sorted(VERIFIERS)
TRANSIENT = (Reply(429, text="slow down", headers={"retry-after": "1"}), Reply(500), Reply(502), Reply(503))


@pytest.fixture(autouse=True)
def _client_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CLIENT_SECRET_ENV, CLIENT_SECRET)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as c:
        yield c


@pytest.fixture(params=KINDS)
def case(request: pytest.FixtureRequest) -> Case:
    kind = request.param
    if kind not in CASES:
        pytest.fail(f"verifier kind {kind!r} has no Case in tests/verifiers/cases.py")
    return CASES[kind]


def token_for(case: Case) -> str:
    return mint(case.compiled, random.Random(case.kind))


async def run(case: Case, client: httpx.AsyncClient, router: respx.MockRouter, reply: Reply | None = None,
              *, side_effect: Exception | None = None) -> tuple[Verdict, respx.Route, str]:
    route = router.route(method=case.method, url=case.url)
    if side_effect is not None:
        route.side_effect = side_effect
    else:
        assert reply is not None
        route.side_effect = lambda request: reply.response()
    token = token_for(case)
    verifier = VERIFIERS[case.kind](case.config(), client)
    verdict = await verifier.verify(token, case.compiled)
    return verdict, route, token


def test_every_kind_has_a_case() -> None:
    assert sorted(CASES) == KINDS


async def test_live(case: Case, client: httpx.AsyncClient, no_network: respx.MockRouter) -> None:
    verdict, route, token = await run(case, client, no_network, case.live)
    assert verdict.status == "live", verdict
    assert route.call_count == 1
    assert case.sends_token(route.calls.last.request, token)


async def test_inactive(case: Case, client: httpx.AsyncClient, no_network: respx.MockRouter) -> None:
    verdict, route, _ = await run(case, client, no_network, case.inactive)
    assert verdict.status == "inactive", verdict
    assert route.call_count == 1


async def test_timeout_is_unknown(case: Case, client: httpx.AsyncClient, no_network: respx.MockRouter) -> None:
    verdict, route, _ = await run(case, client, no_network, side_effect=httpx.ReadTimeout("read timed out"))
    assert verdict == Verdict.unknown("timeout")
    assert route.call_count == 1


async def test_connection_error_is_unknown(case: Case, client: httpx.AsyncClient,
                                           no_network: respx.MockRouter) -> None:
    verdict, _, _ = await run(case, client, no_network, side_effect=httpx.ConnectError("refused"))
    assert verdict.status == "unknown"
    assert "ConnectError" in verdict.reason


@pytest.mark.parametrize(("kind", "which"), [
    (kind, i) for kind in KINDS if kind in CASES for i in range(len(TRANSIENT) + len(CASES[kind].odd))
])
async def test_unexpected_answer_is_unknown(kind: str, which: int, client: httpx.AsyncClient,
                                            no_network: respx.MockRouter) -> None:
    case = CASES[kind]
    answer = (*TRANSIENT, *case.odd)[which]
    verdict, route, _ = await run(case, client, no_network, answer)
    assert verdict.status == "unknown", (answer, verdict)
    assert route.call_count == 1


@pytest.mark.parametrize("other", NOT_SERVED, ids=lambda r: r.id)
async def test_no_request_for_a_rule_it_does_not_serve(case: Case, other: RuleConfig, client: httpx.AsyncClient,
                                                       no_network: respx.MockRouter) -> None:
    route = no_network.route(method=case.method, url=case.url).mock(side_effect=lambda r: case.live.response())
    catch_all = no_network.route().mock(return_value=httpx.Response(200, json={}))
    rule = compile_rule(other)
    verifier = VERIFIERS[case.kind](case.config(), client)
    assert not verifier.serves(rule)
    verdict = await verifier.verify(mint(rule), rule)
    assert verdict.status == "unknown"
    assert not route.called and not catch_all.called


async def test_token_never_appears_in_a_reason(case: Case, client: httpx.AsyncClient,
                                               no_network: respx.MockRouter) -> None:
    token = token_for(case)
    body = token[len(case.compiled.prefix):]
    echo = {"ok": False, "error": token, "message": token, "active": token, "login": token}
    answers = (case.live, case.inactive, *TRANSIENT, *case.odd, Reply(200, echo), Reply(401, echo),
               Reply(400, text=token), Reply(200, text=token))
    reasons = []
    for reply in answers:
        no_network.routes.clear()
        no_network.route(method=case.method, url=case.url).mock(side_effect=lambda r, reply=reply: reply.response())
        verifier = VERIFIERS[case.kind](case.config(), client)
        verdict = await verifier.verify(token, case.compiled)
        reasons.append(verdict.reason)
    assert all(r for r in reasons), reasons
    assert not [r for r in reasons if token in r or body in r]
