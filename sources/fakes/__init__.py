"""Loopback fakes of the public services, one per provider, speaking the real formats.

``FAKES`` maps every source kind (the keys of ``sources.SOURCES``, checked by a test) to the
:class:`~sources.fakes.base.Fake` entry that serves it; each provider's entries live in its fake
module next to its service. The sandbox in ``crawler.demo.sandbox`` is built from this registry
alone. This package is a plug-in: it imports only third-party packages, its own modules and
``crawler.kernel``/``crawler.config``.
"""

from __future__ import annotations

from typing import Any

from sources.fakes import github, gitlab, pastes
from sources.fakes.base import Fake, SourceTable, build_services
from sources.fakes.service import Published, RequestRecord, Service

FAKES: dict[str, Fake[Any]] = {fake.kind: fake for fake in (*github.FAKES, *gitlab.FAKES, *pastes.FAKES)}


def demo_kinds() -> tuple[str, ...]:
    """The kinds ``leakpatrol demo`` and the benchmarks plant into (see :attr:`Fake.demo`)."""
    return tuple(kind for kind, fake in FAKES.items() if fake.demo)


def polled_kinds() -> tuple[str, ...]:
    """The kinds ``leakpatrol demo`` configures: the planted ones plus those riding along with them."""
    return tuple(kind for kind, fake in FAKES.items() if fake.demo or fake.rides_along)


__all__ = ["FAKES", "Fake", "Published", "RequestRecord", "Service", "SourceTable", "build_services",
           "demo_kinds", "polled_kinds"]
