"""The built-in rule pack (``crawler/data/rules/*.toml``): every rule compiles, its examples match, its
negative examples do not, minting works, and the whole pack runs in one scanner on both engines."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from crawler.config.model import RuleConfig
from crawler.detect.checksum import CHECKSUMS
from crawler.detect.mint import mint
from crawler.detect.rules import Rule, builtin_pack, builtin_rule_configs, compile_rule
from crawler.detect.scanner import HAVE_HYPERSCAN, Scanner
from verifiers import VERIFIERS

# Verifier kinds that exist (verifiers/ registry); a rule naming any other would never be verified.
VERIFIER_KINDS = frozenset(VERIFIERS)

# Rule ids other modules and users rely on, with the verifier each must name (None: no verifier).
REQUIRED: dict[str, str | None] = {
    "github-pat-classic": "github",
    "github-oauth": "github",
    "github-user-to-server": "github",
    "github-server-to-server": "github",
    "github-refresh": None,
    "github-fine-grained-pat": "github",
    "gitlab-pat": "gitlab",
    "slack-bot-token": "slack",
    "slack-user-token": "slack",
    "slack-webhook-url": None,
    "stripe-live-secret-key": "stripe",
    "stripe-restricted-key": "stripe",
    "npm-token": "npm",
    "pypi-token": None,
    "aws-access-key-id": None,
    "aws-access-key": "aws",
    "twilio-account-sid-auth-token": "twilio",
    "paystack-secret-key": None,
    "sk-live-unattributed": None,
    "aws-temporary-access-key-id": None,
    "openai-api-key": "openai",
    "openai-api-key-legacy": "openai",
    "anthropic-api-key": "anthropic",
    "google-api-key": None,
    "huggingface-token": "huggingface",
    "twilio-api-key": None,
    "sendgrid-api-key": "sendgrid",
    "shopify-access-token": None,
    "shopify-custom-app": None,
    "shopify-private-app": None,
    "digitalocean-pat": "digitalocean",
    "digitalocean-oauth": "digitalocean",
}

CONFIGS: tuple[RuleConfig, ...] = builtin_rule_configs()
RULES: list[Rule] = [compile_rule(cfg, builtin=True, allow=builtin_pack().allow) for cfg in CONFIGS]
CHECKSUMMED: list[Rule] = [r for r in RULES if r.checksum != "none"]

ENGINES = [
    pytest.param(False, id="python"),
    pytest.param(True, id="hyperscan",
                 marks=pytest.mark.skipif(not HAVE_HYPERSCAN, reason="hyperscan is not installed")),
]


@pytest.fixture(params=RULES, ids=[r.id for r in RULES])
def rule(request: pytest.FixtureRequest) -> Rule:
    param: Rule = request.param
    return param


@pytest.fixture(params=ENGINES)
def use_hyperscan(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def spans(rule: Rule, text: str, use_hyperscan: bool) -> list[tuple[str, int, int]]:
    matches = Scanner([rule], use_hyperscan=use_hyperscan).scan(text.encode())
    return [(m.rule.id, m.start, m.end) for m in matches]


# -- the pack as a whole ---------------------------------------------------------------------


def test_pack_has_at_least_150_rules_with_unique_ids() -> None:
    ids = [cfg.id for cfg in CONFIGS]
    assert len(ids) >= 150
    assert [i for i, n in Counter(ids).items() if n > 1] == []


def test_required_rules_exist_with_their_verifiers() -> None:
    by_id = {cfg.id: cfg for cfg in CONFIGS}
    missing = sorted(set(REQUIRED) - set(by_id))
    assert missing == []
    assert {i: by_id[i].verifier for i in REQUIRED} == REQUIRED


def test_whole_pack_compiles_into_one_scanner(use_hyperscan: bool) -> None:
    """Every example, among all the others, is found by its own rule (and by no other: a paired
    rule's pair is not also reported alone, a narrower format wins over a wider one)."""
    scanner = Scanner(RULES, use_hyperscan=use_hyperscan)
    # Examples far apart, so that no companion window reaches a neighbour.
    doc = "\n".join(f"KEY_{i} = '{ex}'" + " " * 2100 for i, r in enumerate(RULES) for ex in r.examples)
    found = sorted((m.rule.id, m.token.decode()) for m in scanner.scan(doc.encode()))
    want = sorted((r.id, ex) for r in RULES for ex in r.examples)
    assert found == want


def test_engines_agree_on_the_whole_pack() -> None:
    if not HAVE_HYPERSCAN:
        pytest.skip("hyperscan not installed")
    texts = [t for r in RULES for t in (*r.examples, *r.negative_examples)]
    doc = "\n".join(texts).encode()

    def run(hs: bool) -> list[tuple[str, int, int]]:
        return [(m.rule.id, m.start, m.end) for m in Scanner(RULES, use_hyperscan=hs).scan(doc)]

    assert run(True) == run(False)


# -- every rule ------------------------------------------------------------------------------


def test_rule_is_documented(rule: Rule) -> None:
    assert rule.name and rule.name != rule.id
    assert rule.reference is not None and rule.reference.startswith("https://")
    assert len(rule.examples) >= 2
    assert len(rule.negative_examples) >= 2
    assert rule.builtin


def test_rule_names_a_known_verifier(rule: Rule) -> None:
    assert rule.verifier is None or rule.verifier in VERIFIER_KINDS


def _anchor(rule: Rule, example: str) -> str:
    """The part of an example the match spans: all of it, or for a pair the part before ``:``."""
    return example.split(":", 1)[0] if rule.paired else example


def test_examples_match_whole(rule: Rule, use_hyperscan: bool) -> None:
    for example in rule.examples:
        assert rule.prefix in example
        assert spans(rule, example, use_hyperscan) == [(rule.id, 0, len(_anchor(rule, example)))], example
        found = Scanner([rule], use_hyperscan=use_hyperscan).scan(example.encode())
        assert [m.token.decode() for m in found] == [example]


def test_examples_match_inside_text(rule: Rule, use_hyperscan: bool) -> None:
    """Quotes, '=' and line breaks around a token are boundaries, and line/column are right."""
    for example in rule.examples:
        text = f'# config\nexport TOKEN="{example}"\n'
        matches = Scanner([rule], use_hyperscan=use_hyperscan).scan(text.encode())
        assert [(m.line, m.column, m.token.decode()) for m in matches] == [(2, 15, example)]
        if rule.paired:  # the pair also holds when the secret comes first, on another line
            anchor, secret = example.split(":", 1)
            text = f'secret = "{secret}"\nkey_id = "{anchor}"\n'
            matches = Scanner([rule], use_hyperscan=use_hyperscan).scan(text.encode())
            assert [(m.line, m.token.decode()) for m in matches] == [(2, example)]


def test_negative_examples_do_not_match(rule: Rule, use_hyperscan: bool) -> None:
    for negative in rule.negative_examples:
        assert spans(rule, negative, use_hyperscan) == [], negative


def test_minted_token_matches(rule: Rule, use_hyperscan: bool) -> None:
    for seed in range(3):
        token = mint(rule, random.Random(f"{rule.id}-{seed}"))
        assert token.startswith(rule.prefix) or rule.lead is not None
        assert spans(rule, token, use_hyperscan) == [(rule.id, 0, len(_anchor(rule, token)))]


def test_checksum_rules_exist() -> None:
    assert {r.id for r in CHECKSUMMED} >= {"github-pat-classic", "npm-token"}


@pytest.mark.parametrize("rule", CHECKSUMMED, ids=[r.id for r in CHECKSUMMED])
def test_checksummed_rules_reject_a_flipped_character(rule: Rule, use_hyperscan: bool) -> None:
    """A well-formed token with one wrong checksum character is discarded offline and counted."""
    token = mint(rule, random.Random(rule.id))
    last = token[-1]
    bad = token[:-1] + next(c for c in CHECKSUMS[rule.checksum].charset if c != last)
    scanner = Scanner([rule], use_hyperscan=use_hyperscan)
    assert scanner.scan(bad.encode()) == []
    assert scanner.stats.bad_checksum[rule.id] == 1
