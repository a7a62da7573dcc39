"""The registry is explicit and complete, and provider verifiers match the built-in rule pack."""

from __future__ import annotations

import inspect
import pkgutil

import pytest

import verifiers
from crawler.detect.rules import builtin_rule_configs
from verifiers import VERIFIERS
from verifiers.base import Verifier


def modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(verifiers.__path__) if m.name != "base")


def test_every_module_is_registered_under_its_own_name() -> None:
    assert sorted(VERIFIERS) == modules()
    for kind, cls in VERIFIERS.items():
        assert cls.kind == kind
        assert cls.__module__ == f"verifiers.{kind}"
        assert issubclass(cls, Verifier) and not inspect.isabstract(cls)
        assert cls.__doc__ and cls.__doc__.strip()


def test_built_in_rules_that_name_a_provider_are_served_by_it() -> None:
    pack = [r for r in builtin_rule_configs() if r.verifier]
    if not pack:
        pytest.skip("the built-in rule pack is empty")
    for rule in pack:
        cls = VERIFIERS.get(rule.verifier or "")
        assert cls is not None, f"{rule.id}: verifier {rule.verifier!r} is not registered"
        assert rule.id in cls.rules, f"{rule.id} is not in {cls.kind}.rules"


def test_every_rule_a_provider_claims_exists_in_the_pack() -> None:
    pack = {r.id: r for r in builtin_rule_configs()}
    if not pack:
        pytest.skip("the built-in rule pack is empty")
    for cls in VERIFIERS.values():
        for rule_id in cls.rules:
            assert rule_id in pack, f"{cls.kind} claims unknown rule {rule_id}"
            assert pack[rule_id].verifier == cls.kind
