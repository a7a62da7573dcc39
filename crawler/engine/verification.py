"""Building verifiers from the config and asking them about tokens.

A rule's ``verifier`` names either a ``[[verifiers]]`` id from the config or, for the built-in pack,
a provider verifier kind (``github``, ``slack``, …) used with its defaults. A token is only ever sent
to the verifier its rule names.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack

from crawler.config.model import Config
from crawler.detect.rules import Rule
from crawler.http import make_client
from crawler.plugins import make_verifier, verifier_config
from verifiers.base import Verdict, Verifier

logger = logging.getLogger(__name__)


class VerifierSet:
    """The verifiers of one process, built lazily, each with its own HTTP client."""

    def __init__(self, cfg: Config | None, stack: AsyncExitStack) -> None:
        self.cfg = cfg
        self.stack = stack
        self._by_id: dict[str, Verifier] = {}

    async def for_rule(self, rule: Rule) -> Verifier | None:
        name = rule.verifier
        if not name:
            return None
        if name in self._by_id:
            return self._by_id[name]
        vc = verifier_config(self.cfg, name)
        if vc is None:
            return None
        http = self.cfg.http if self.cfg else None
        client = await self.stack.enter_async_context(make_client(http, owner=f"verifier {vc.id}",
                                                                  timeout=vc.timeout, follow_redirects=False))
        self._by_id[name] = make_verifier(self.cfg, vc, client)
        return self._by_id[name]

    async def verify(self, rule: Rule, token: str) -> tuple[str, Verdict]:
        """``(verifier id, verdict)``; no verifier → ``unknown``."""
        verifier = await self.for_rule(rule)
        if verifier is None:
            return "none", Verdict.unknown("no verifier for this rule")
        return verifier.id, await verifier.verify(token, rule)


async def verify_tokens(cfg: Config | None, rules: Sequence[Rule], items: Sequence[tuple[Rule, str]]) -> list[Verdict]:
    """Verify many (rule, token) pairs concurrently (``scan --verify``)."""
    async with AsyncExitStack() as stack:
        vs = VerifierSet(cfg, stack)
        results = await asyncio.gather(*(vs.verify(rule, token) for rule, token in items))
    return [v for _, v in results]
