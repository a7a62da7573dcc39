"""Public sources. The registry is explicit; a test checks that every module is registered."""

from __future__ import annotations

from sources.base import Source

SOURCES: dict[str, type[Source]] = {cls.name: cls for cls in ()}
