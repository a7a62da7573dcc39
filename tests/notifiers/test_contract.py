"""The delivery contract every registered notifier keeps (run over each entry of ``NOTIFIERS``).

DESIGN.md "Revocation webhook": 2xx delivered; 410 disabled; 408/429/5xx and timeouts retry with the
server's ``Retry-After``; other 4xx fail for good; redirects are not followed. A notifier without its
credential says which variable is missing and sends nothing; the token is never logged, and only a
notifier that is meant to carry it puts it in the request body. A new notifier gets these by adding
a ``Case`` to ``cases.py`` (the registry itself is checked in ``test_registry.py``).
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime

import httpx
import pytest
import respx

from crawler.http import make_client
from crawler.notifiers import NOTIFIERS
from crawler.notifiers.base import DeliveryResult, Event
from tests.notifiers.cases import CASES, Case, Flood
from tests.notifiers.helpers import RULE, exposure_event

KINDS = sorted(NOTIFIERS)
RETRY = (408, 429, 500, 502, 503, 504, 599)
OTHER_4XX = (400, 401, 403, 404, 405, 409, 413, 415, 422, 451)
REDIRECTS = (301, 302, 303, 307, 308)
TRANSPORT = (httpx.ConnectTimeout, httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout,
             httpx.ConnectError, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
ELSEWHERE = "https://elsewhere.example/collect"
MiB = 1 << 20


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for c in CASES.values():
        monkeypatch.setenv(c.credential_env, c.credential)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(follow_redirects=False) as c:  # as the engine builds it
        yield c


@pytest.fixture(params=KINDS)
def case(request: pytest.FixtureRequest) -> Case:
    if request.param not in CASES:
        pytest.fail(f"notifier kind {request.param!r} has no Case in tests/notifiers/cases.py")
    return CASES[request.param]


@pytest.fixture
def event(token: str) -> Event:
    return exposure_event(token)


def per_kind(statuses: Callable[[Case], Iterable[int]]) -> list[tuple[str, int]]:
    """``(kind, status)`` pairs, for statuses that depend on the case."""
    return [(k, s) for k in KINDS if k in CASES for s in statuses(CASES[k])]


async def send(case: Case, client: httpx.AsyncClient, router: respx.MockRouter, answer: httpx.Response | Exception,
               event: Event, **overrides: object) -> tuple[DeliveryResult, respx.Route]:
    """Mock ``case.url`` with ``answer`` and send ``event`` once."""
    route = router.post(case.url)
    if isinstance(answer, Exception):
        route.mock(side_effect=answer)
    else:
        route.mock(return_value=answer)
    result = await case.build(client, **overrides).send("msg_contract", event)
    return result, route


def leaks(token: str, text: str) -> list[str]:
    """Pieces of the token's body longer than its redacted form shows (4 characters) found in ``text``."""
    body = token[len(RULE.prefix):]
    return [body[i:i + 6] for i in range(len(body) - 5) if body[i:i + 6] in text]


def test_every_kind_has_a_case() -> None:
    assert sorted(CASES) == KINDS


def test_410_is_a_gone_status_for_every_kind() -> None:
    assert [k for k, c in CASES.items() if 410 not in c.disabled] == []


# -- status classes ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 202, 204])
async def test_2xx_is_delivered(case: Case, client: httpx.AsyncClient, no_network: respx.MockRouter,
                                event: Event, status: int) -> None:
    result, route = await send(case, client, no_network, httpx.Response(status), event)
    assert (result.outcome, result.status_code) == ("delivered", status)
    assert route.call_count == 1 and route.calls.last.request.method == "POST"


async def test_a_weekly_report_is_delivered(case: Case, client: httpx.AsyncClient,
                                            no_network: respx.MockRouter) -> None:
    report = Event(type="report.weekly", timestamp=datetime(2026, 11, 30, 7, tzinfo=UTC), report={"live": 2},
                   summary="Week 2026-W49: 2 live tokens")
    result, route = await send(case, client, no_network, httpx.Response(200), report)
    if not case.carries_reports:  # failed with a reason, nothing sent (and `check` refuses the config)
        assert result.outcome == "failed" and "report" in result.detail and route.call_count == 0
        return
    assert result.outcome == "delivered" and route.call_count == 1


@pytest.mark.parametrize(("kind", "status"), per_kind(lambda c: sorted(c.disabled)))
async def test_gone_disables(kind: str, status: int, client: httpx.AsyncClient, no_network: respx.MockRouter,
                             event: Event) -> None:
    result, route = await send(CASES[kind], client, no_network, httpx.Response(status, text="gone"), event)
    assert (result.outcome, result.status_code) == ("disabled", status)
    assert route.call_count == 1


@pytest.mark.parametrize("status", RETRY)
async def test_transient_statuses_retry(case: Case, client: httpx.AsyncClient, no_network: respx.MockRouter,
                                        event: Event, status: int) -> None:
    result, _ = await send(case, client, no_network, httpx.Response(status), event)
    assert (result.outcome, result.status_code, result.retry_after) == ("retry", status, None)


@pytest.mark.parametrize("status", RETRY)
async def test_retry_after_seconds_is_honoured(case: Case, client: httpx.AsyncClient, no_network: respx.MockRouter,
                                               event: Event, status: int) -> None:
    answer = httpx.Response(status, headers={"Retry-After": "120"})
    result, _ = await send(case, client, no_network, answer, event)
    assert (result.outcome, result.retry_after) == ("retry", 120.0)


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_http_date_is_honoured(case: Case, client: httpx.AsyncClient,
                                                 no_network: respx.MockRouter, event: Event, status: int) -> None:
    when = email.utils.formatdate(time.time() + 600, usegmt=True)
    result, _ = await send(case, client, no_network, httpx.Response(status, headers={"Retry-After": when}), event)
    assert result.outcome == "retry"
    assert result.retry_after is not None and 580 <= result.retry_after <= 600


@pytest.mark.parametrize(("kind", "status"), per_kind(lambda c: [s for s in OTHER_4XX if s not in c.disabled]))
async def test_other_4xx_fail_for_good(kind: str, status: int, client: httpx.AsyncClient,
                                       no_network: respx.MockRouter, event: Event) -> None:
    result, route = await send(CASES[kind], client, no_network, httpx.Response(status, text="no"), event)
    assert (result.outcome, result.status_code) == ("failed", status)
    assert route.call_count == 1


@pytest.mark.parametrize("error", TRANSPORT, ids=lambda e: e.__name__)
async def test_transport_errors_retry_and_never_raise(case: Case, client: httpx.AsyncClient,
                                                      no_network: respx.MockRouter, event: Event,
                                                      error: type[httpx.TransportError]) -> None:
    result, route = await send(case, client, no_network, error("boom"), event)
    assert (result.outcome, result.status_code) == ("retry", None)
    assert error.__name__ in result.detail
    assert route.call_count == 1


@pytest.mark.parametrize("follow", [False, True], ids=["client-no-follow", "client-follows"])
@pytest.mark.parametrize("status", REDIRECTS)
async def test_redirects_are_not_followed(case: Case, no_network: respx.MockRouter, event: Event, status: int,
                                          follow: bool) -> None:
    elsewhere = no_network.route(url=ELSEWHERE).respond(200)
    async with make_client(follow_redirects=follow) as client:
        answer = httpx.Response(status, headers={"Location": ELSEWHERE})
        result, route = await send(case, client, no_network, answer, event)
    assert result.outcome != "delivered" and result.status_code == status
    assert route.call_count == 1 and not elsewhere.called


# -- credentials ------------------------------------------------------------------------------


async def test_a_missing_credential_is_named_and_nothing_is_sent(case: Case, client: httpx.AsyncClient,
                                                                 no_network: respx.MockRouter, event: Event,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    anything = no_network.route().respond(200)
    notifier = case.build(client)
    assert notifier.missing_credentials() is None
    monkeypatch.delenv(case.credential_env)
    problem = notifier.missing_credentials()
    assert problem is not None and case.credential_env in problem
    result = await notifier.send("msg_contract", event)
    assert result.outcome == "failed" and case.credential_env in result.detail
    assert not anything.called


async def test_a_malformed_credential_is_named_not_echoed(case: Case, client: httpx.AsyncClient,
                                                          no_network: respx.MockRouter, event: Event,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    anything = no_network.route().respond(200)
    monkeypatch.setenv(case.credential_env, case.bad_credential)
    notifier = case.build(client)
    problem = notifier.missing_credentials()
    assert problem is not None and case.credential_env in problem and case.bad_credential not in problem
    result = await notifier.send("msg_contract", event)
    assert result.outcome == "failed" and case.bad_credential not in result.detail
    assert not anything.called


# -- the token --------------------------------------------------------------------------------


async def test_the_token_is_never_logged_nor_in_a_detail(case: Case, client: httpx.AsyncClient,
                                                         no_network: respx.MockRouter, event: Event, token: str,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    """Whatever the endpoint answers (even the token echoed at any offset, so that any cut of the
    answer falls inside it), the result's detail, which the outbox logs, and every log line hold no
    more of the token than its redacted form; nor the credential."""
    caplog.set_level(logging.DEBUG)
    answers: list[httpx.Response | Exception] = [
        httpx.Response(status, text="." * offset + token, headers={"Retry-After": "1"})
        for status in (200, 400, 410, 429, 500) for offset in range(0, 400, 10)]
    answers.append(httpx.ConnectError(f"could not send {token}"))
    results = []
    for answer in answers:
        no_network.routes.clear()
        results.append((await send(case, client, no_network, answer, event))[0])
    assert {r.outcome for r in results} == {"delivered", "failed", "disabled", "retry"}
    details = "\n".join(f"{r!r} {r.detail}" for r in results)
    assert leaks(token, caplog.text) == [] and leaks(token, details) == []
    assert case.credential not in details


async def test_the_request_carries_the_token_only_where_declared(case: Case, client: httpx.AsyncClient,
                                                                 no_network: respx.MockRouter, event: Event,
                                                                 token: str) -> None:
    result, route = await send(case, client, no_network, httpx.Response(200), event)
    assert result.outcome == "delivered"
    request = route.calls.last.request
    if case.carries_token:
        assert token in request.content.decode("utf-8")
        return
    # Not even where a document put it into a field the message shows (here: the file name).
    no_network.routes.clear()
    _, other = await send(case, client, no_network, httpx.Response(200), exposure_event(token, path=f"{token}.env"))
    for sent in (request, other.calls.last.request):
        assert leaks(token, sent.content.decode("utf-8") + str(sent.url) + str(sent.headers)) == []


async def test_a_carrier_can_leave_the_token_out(case: Case, client: httpx.AsyncClient,
                                                 no_network: respx.MockRouter, event: Event, token: str) -> None:
    if not case.carries_token:
        assert case.token_free is None, "a notifier that never carries the token needs no switch for it"
        return
    if case.token_required:
        assert case.token_free is None
        return
    assert case.token_free is not None, "a notifier that carries the token needs a switch to leave it out"
    result, route = await send(case, client, no_network, httpx.Response(200), event, **case.token_free)
    assert result.outcome == "delivered"
    assert leaks(token, route.calls.last.request.content.decode("utf-8")) == []


# -- hostile answers --------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "outcome"), [(200, "delivered"), (400, "failed"), (503, "retry")])
async def test_an_oversized_answer_is_read_only_in_part(case: Case, client: httpx.AsyncClient,
                                                        no_network: respx.MockRouter, event: Event, status: int,
                                                        outcome: str) -> None:
    flood = Flood(size=64 * MiB)
    result, _ = await send(case, client, no_network, httpx.Response(status, stream=flood), event)
    assert result.outcome == outcome
    assert len(result.detail) <= 300
    assert flood.read <= MiB, f"read {flood.read} bytes of an answer it keeps {len(result.detail)} characters of"
