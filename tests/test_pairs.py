"""Paired credentials, the pack's allowlist, rules with a lead, and prefix collisions (issue 13)."""

from __future__ import annotations

import json
import random

import pytest

from crawler.config.model import RuleConfig
from crawler.detect.mint import mint
from crawler.detect.rules import Rule, find_rule, load_rules
from crawler.detect.scanner import HAVE_HYPERSCAN, Scanner

RULES = load_rules()
ENGINES = [pytest.param(False, id="python"),
           pytest.param(True, id="hyperscan", marks=pytest.mark.skipif(not HAVE_HYPERSCAN, reason="no hyperscan"))]


def rule(rule_id: str) -> Rule:
    found = find_rule(RULES, rule_id)
    assert found is not None
    return found


def scan(text: str, use_hyperscan: bool) -> list[tuple[str, str]]:
    return [(m.rule.id, m.token.decode()) for m in Scanner(RULES, use_hyperscan=use_hyperscan).scan(text.encode())]


def _aws_pair(seed: str) -> tuple[str, str]:
    token = mint(rule("aws-access-key"), random.Random(seed))
    key_id, secret = token.split(":")
    return key_id, secret


@pytest.mark.parametrize("use_hyperscan", ENGINES)
def test_aws_key_id_with_its_secret_is_one_finding_fingerprinted_as_a_pair(use_hyperscan: bool) -> None:
    key_id, secret = _aws_pair("pair")
    text = f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"
    matches = Scanner(RULES, use_hyperscan=use_hyperscan).scan(text.encode())
    assert [(m.rule.id, m.token.decode(), m.line) for m in matches] == [("aws-access-key", f"{key_id}:{secret}", 2)]
    (m,) = matches
    assert m.rule.severity == "critical" and m.rule.paired
    # One fingerprint for the pair: neither half's alone, and the redacted form shows no secret.
    assert m.fingerprint not in {Scanner(RULES).scan(key_id.encode())[0].fingerprint}
    assert secret[:6] not in m.redacted and m.redacted.startswith("AKIA")
    assert m.companion is not None and text.encode()[m.companion[0]:m.companion[1]] == secret.encode()


@pytest.mark.parametrize("use_hyperscan", ENGINES)
def test_a_lone_aws_key_id_is_low_severity_and_has_no_verifier(use_hyperscan: bool) -> None:
    key_id, _ = _aws_pair("lone")
    found = Scanner(RULES, use_hyperscan=use_hyperscan).scan(f"AWS_ACCESS_KEY_ID={key_id}\n".encode())
    assert [(m.rule.id, m.rule.severity, m.rule.verifier) for m in found] == [("aws-access-key-id", "low", None)]


@pytest.mark.parametrize("use_hyperscan", ENGINES)
def test_the_secret_must_be_within_the_window(use_hyperscan: bool) -> None:
    key_id, secret = _aws_pair("far")
    window = rule("aws-access-key").companion
    assert window is not None
    far = f"id={key_id}\n" + "#" * (window.within + 1) + f"\nsecret={secret}\n"
    assert scan(far, use_hyperscan) == [("aws-access-key-id", key_id)]


def test_a_hex_digest_next_to_a_key_id_is_not_its_secret() -> None:
    key_id, _ = _aws_pair("hex")
    text = f"{key_id} {'0f' * 20}\n"  # 40 hex characters: a SHA-1, not a secret access key
    assert scan(text, False) == [("aws-access-key-id", key_id)]


def test_a_longer_run_is_not_cut_into_a_secret() -> None:
    key_id, secret = _aws_pair("long")
    assert scan(f"{key_id} {secret}Q\n", False) == [("aws-access-key-id", key_id)]


def test_twilio_pair() -> None:
    token = mint(rule("twilio-account-sid-auth-token"), random.Random("tw"))
    sid, auth = token.split(":")
    text = f'TWILIO_ACCOUNT_SID="{sid}"\nTWILIO_AUTH_TOKEN="{auth}"\n'
    assert scan(text, False) == [("twilio-account-sid-auth-token", f"{sid}:{auth}")]
    assert scan(f'TWILIO_ACCOUNT_SID="{sid}"\n', False) == []  # a SID alone is an identifier, not a secret


# -- the allowlist -----------------------------------------------------------------------------


@pytest.mark.parametrize("use_hyperscan", ENGINES)
@pytest.mark.parametrize("text", [
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    "AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "token: glpat-xxxxxxxxxxxxxxxxxxxx",
    "key = AIzaSyabcdefghijklmnopqrstuvwxyz1234567",
    "STRIPE=sk_live_00000000000000000000000000",
])
def test_published_examples_and_placeholders_are_not_reported(text: str, use_hyperscan: bool) -> None:
    scanner = Scanner(RULES, use_hyperscan=use_hyperscan)
    assert scanner.scan(text.encode()) == []
    assert sum(scanner.stats.allowlisted.values()) >= 1


def test_the_allowlist_does_not_touch_organisation_rules() -> None:
    org = load_rules(extra=[RuleConfig(id="acme", prefix="acme_", charset="base62", length=20)])
    assert [m.rule.id for m in Scanner(org).scan(b"acme_xxxxxxxxxxxxxxxxxxxx")] == ["acme"]


# -- prefix collisions -------------------------------------------------------------------------


@pytest.mark.parametrize("use_hyperscan", ENGINES)
def test_sk_live_keys_go_to_the_right_rule(use_hyperscan: bool) -> None:
    stripe = mint(rule("stripe-live-secret-key"), random.Random("s"))
    paystack = mint(rule("paystack-secret-key"), random.Random("p"))
    rng = random.Random("o")
    other = "sk_live_" + "".join(rng.choice("ABCdef123") for _ in range(48))
    found = dict((t, r) for r, t in scan(f"{stripe}\n{paystack}\n{other}\n", use_hyperscan))
    assert found == {stripe: "stripe-live-secret-key", paystack: "paystack-secret-key", other: "sk-live-unattributed"}
    assert rule("stripe-live-secret-key").verifier == "stripe"
    assert rule("paystack-secret-key").verifier is None and rule("sk-live-unattributed").verifier is None


# -- rules with a lead -------------------------------------------------------------------------


@pytest.mark.parametrize("use_hyperscan", ENGINES)
@pytest.mark.parametrize("rule_id", ["mailchimp-api-key", "telegram-bot-token", "azure-devops-pat",
                                     "terraform-cloud-token", "azure-entra-client-secret"])
def test_lead_rules_find_the_whole_token(rule_id: str, use_hyperscan: bool) -> None:
    token = mint(rule(rule_id), random.Random(rule_id))
    assert scan(f'key: "{token}"\n', use_hyperscan) == [(rule_id, token)]
    assert scan(f"key: {token[0]}{token}\n", use_hyperscan) == []  # a longer lead run is not the format


@pytest.mark.parametrize("use_hyperscan", ENGINES)
def test_tokens_after_an_escaped_line_break_are_found(use_hyperscan: bool) -> None:
    """In a JSON or code string a token often follows ``\\n``: the ``n`` is not a word character of the
    text, so the boundary holds (noseyparker's and kingfisher's github.yml samples)."""
    gh = mint(rule("github-pat-classic"), random.Random("esc"))
    key_id, secret = _aws_pair("esc")
    text = json.dumps({"a": f"settings\n{gh}\n", "b": f"{key_id}\n{secret}"})
    want = [("aws-access-key", f"{key_id}:{secret}"), ("github-pat-classic", gh)]
    assert sorted(scan(text, use_hyperscan)) == want
    assert scan(f"settingsn{gh}", use_hyperscan) == []  # a real word character still fails the boundary


def test_a_lead_token_is_redacted_from_its_start() -> None:
    token = mint(rule("mailchimp-api-key"), random.Random("redact"))
    (m,) = Scanner(RULES).scan(token.encode())
    assert m.redacted == f"{token[:4]}…sha256:{m.fingerprint[:8]}"
    assert token[4:12] not in m.redacted
