"""Verifiers. The registry is explicit; a test checks that every module is registered."""

from __future__ import annotations

from verifiers.base import Verifier

VERIFIERS: dict[str, type[Verifier]] = {cls.kind: cls for cls in ()}
