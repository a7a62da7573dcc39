"""Pairs are verified only as pairs; a token whose format cannot tell its provider is never sent to
one (issue 13). Signature V4 is checked against AWS's published test vector."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from crawler.detect.mint import mint
from crawler.detect.rules import Rule, find_rule, load_rules
from crawler.engine.verification import verify_tokens
from crawler.http import make_client
from tests.verifiers.cases import CASES
from verifiers import VERIFIERS
from verifiers.aws import sigv4

RULES = load_rules()


def rule(rule_id: str) -> Rule:
    found = find_rule(RULES, rule_id)
    assert found is not None
    return found


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as c:
        yield c


def test_sigv4_matches_the_aws_test_suite_get_vanilla_vector() -> None:
    """aws-sig-v4-test-suite ``get-vanilla`` (AWS General Reference, Signature Version 4 test suite)."""
    auth = sigv4(method="GET", path="/", query="", headers={"Host": "example.amazonaws.com",
                                                            "X-Amz-Date": "20150830T123600Z"},
                 body=b"", key_id="AKIDEXAMPLE", secret="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                 region="us-east-1", service="service", amz_date="20150830T123600Z")
    assert auth == ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                    "SignedHeaders=host;x-amz-date, "
                    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")


@pytest.mark.parametrize("kind", ["aws", "twilio"])
async def test_half_a_pair_is_never_sent(kind: str, client: httpx.AsyncClient, no_network: respx.MockRouter) -> None:
    case = CASES[kind]
    route = no_network.route(method=case.method, url=case.url).mock(side_effect=lambda r: case.live.response())
    pair = mint(case.compiled, random.Random(kind))
    verdict = await VERIFIERS[kind](case.config(), client).verify(pair.split(":")[0], case.compiled)
    assert verdict.status == "unknown" and "alone" in verdict.reason
    assert not route.called


async def test_the_pack_sends_a_pair_to_sts_and_a_lone_key_id_nowhere(no_network: respx.MockRouter) -> None:
    sts = no_network.post(CASES["aws"].url).mock(side_effect=lambda r: CASES["aws"].live.response())
    pair = mint(rule("aws-access-key"), random.Random("pair"))
    key_id = pair.split(":")[0]
    verdicts = await verify_tokens(None, RULES, [(rule("aws-access-key"), pair), (rule("aws-access-key-id"), key_id)])
    assert [v.status for v in verdicts] == ["live", "unknown"]
    assert sts.call_count == 1
    assert key_id in sts.calls.last.request.headers["authorization"]


@pytest.mark.parametrize("rule_id", ["paystack-secret-key", "sk-live-unattributed"])
async def test_sk_live_keys_of_other_providers_never_reach_stripe(rule_id: str, no_network: respx.MockRouter) -> None:
    stripe = no_network.get(CASES["stripe"].url).mock(side_effect=lambda r: CASES["stripe"].live.response())
    token = mint(rule(rule_id), random.Random(rule_id))
    (verdict,) = await verify_tokens(None, RULES, [(rule(rule_id), token)])
    assert verdict.status == "unknown"
    assert not stripe.called
