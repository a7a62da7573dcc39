"""``leakpatrol rules check``: every rule proves its own examples (like ``kingfisher rules check``).

For each rule: it compiles; a built-in rule has a name, an ``https://`` reference, at least 2
examples and 2 negative examples; every example is found whole by the rule alone and, among all
rules, by this rule and no other (a narrower format that shares the prefix would steal it); its
checksum holds; no negative example matches; no allowlist entry hides an example. Then the two
engines must agree on all the examples and negatives at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crawler.detect.rules import Rule
from crawler.detect.scanner import HAVE_HYPERSCAN, Scanner

MIN_EXAMPLES = 2
MIN_NEGATIVES = 2


@dataclass(frozen=True)
class Problem:
    rule: str
    problem: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.problem}"


def check_rule(rule: Rule, everyone: Scanner) -> list[Problem]:
    problems: list[Problem] = []

    def bad(text: str) -> None:
        problems.append(Problem(rule.id, text))

    if rule.builtin:
        if not rule.name or rule.name == rule.id:
            bad("no name")
        if not (rule.reference or "").startswith("https://"):
            bad("no https:// reference")
        if len(rule.examples) < MIN_EXAMPLES:
            bad(f"{len(rule.examples)} examples (at least {MIN_EXAMPLES})")
        if len(rule.negative_examples) < MIN_NEGATIVES:
            bad(f"{len(rule.negative_examples)} negative examples (at least {MIN_NEGATIVES})")
    for n, example in enumerate(rule.examples, start=1):
        alone = Scanner([rule], use_hyperscan=False)
        found = [m.token.decode("ascii", "replace") for m in alone.scan(example.encode())]
        if found != [example]:  # a pair's example is "<match>:<secret>", what the scanner reports
            if alone.stats.bad_checksum[rule.id]:
                bad(f"example {n}: its {rule.checksum} checksum does not hold")
            elif alone.stats.allowlisted[rule.id]:
                bad(f"example {n}: hidden by an allowlist entry")
            else:
                bad(f"example {n}: not matched whole by the rule")
            continue
        others = [m.rule.id for m in everyone.scan(example.encode())]
        if others != [rule.id]:
            bad(f"example {n}: among all rules it is reported as {others or 'nothing'}")
    for n, negative in enumerate(rule.negative_examples, start=1):
        if Scanner([rule], use_hyperscan=False).scan(negative.encode()):
            bad(f"negative example {n} matches")
    return problems


def check_rules(rules: Sequence[Rule]) -> list[Problem]:
    """Every problem of every rule, then whether the engines agree; an empty list means all is well."""
    everyone = Scanner(rules, use_hyperscan=False)
    problems = [p for rule in rules for p in check_rule(rule, everyone)]
    if HAVE_HYPERSCAN:
        texts = [t for r in rules for t in (*r.examples, *r.negative_examples)]
        doc = "\n".join(texts).encode()

        def run(hs: bool) -> list[tuple[str, int, int]]:
            return [(m.rule.id, m.start, m.end) for m in Scanner(rules, use_hyperscan=hs).scan(doc)]

        if run(True) != run(False):
            problems.append(Problem("*", "the Hyperscan and pure-Python engines disagree on the examples"))
    return problems
