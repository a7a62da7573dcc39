"""The fakes' registry contract: how the sandbox serves, configures and feeds one source kind.

Each provider's fake module (``github.py``, ``gitlab.py``, ``pastes.py``) ends with a ``FAKES`` tuple
of :class:`Fake` entries, one per source kind (a key of ``sources.SOURCES``) its service serves;
:mod:`sources.fakes` joins them into one dict by kind. The sandbox (``crawler.demo.sandbox``) builds
one instance of each distinct service class with :func:`build_services` and reaches every provider
through these entries only, so it never names one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sources.fakes.service import Published, Service

S = TypeVar("S", bound=Service)


@dataclass(frozen=True)
class SourceTable:
    """A source's config table for a sandbox whose service is bound to its URL."""

    values: Mapping[str, Any]
    """The table's keys (``api_url``, ``token_env`` …), without ``interval``."""
    url: str
    """Where the source polls: its ``api_url`` (a paste site's archive page)."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Environment values the table needs: each ``*_env`` name → a fake secret."""


@dataclass(frozen=True)
class Fake(Generic[S]):
    """How the sandbox serves the source ``kind``: with which service, configured how, fed how."""

    kind: str
    service: type[S]
    """The service class; one service may serve several kinds (GitHub: events, gists, search)."""
    table: Callable[[S], SourceTable]
    publish: Callable[[S, str, int, str], Published]
    """``publish(service, text, n, org)``: put ``text`` where the source will find it; ``n`` varies
    the names (repository, file), ``org`` is the owner where the service has one."""
    multi: bool = False
    """Configured as a list of tables (``[[sources.<kind>]]``), like ``Source.multi``."""
    demo: bool = True
    """Planted into by ``leakpatrol demo`` and the benchmarks, which poll every second; a source
    paced far slower than that (code search: ~10 searches a minute per rule prefix) is left out."""
    rides_along: bool = False
    """Polled by ``leakpatrol demo`` without being planted into: it reads what the planted sources
    publish (GH Archive: the same pushes as the events feed, once their hour has ended)."""

    @property
    def header(self) -> str:
        return f"[[sources.{self.kind}]]" if self.multi else f"[sources.{self.kind}]"


def build_services(fakes: Iterable[Fake[Any]], *, poll_interval: float = 60.0, max_items: int = 5000,
                   options: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Service]:
    """One instance of each distinct service class, by service name, in registry order.

    ``poll_interval`` and ``max_items`` go to every service; ``options[name]`` are the keyword
    arguments of the service called ``name`` only (``{"github": {"rate_limit": 10}}``).
    """
    classes: dict[str, type[Service]] = {}
    for fake in fakes:
        classes.setdefault(fake.service.name, fake.service)
    extra = dict(options or {})
    unknown = sorted(set(extra) - set(classes))
    if unknown:
        raise ValueError(f"no fake service named {', '.join(map(repr, unknown))} (known: {', '.join(classes)})")
    return {name: cls(poll_interval=poll_interval, max_items=max_items, **extra.get(name, {}))
            for name, cls in classes.items()}
