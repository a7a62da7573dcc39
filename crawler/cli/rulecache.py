"""The rules ``scan`` uses, without validating the config and the rule pack on every run.

Validating them imports pydantic and builds its models: about a tenth of a second, which a
pre-commit hook would pay on every commit. The compiled rules are kept as JSON in the cache folder
(beside the compiled Hyperscan database), keyed by everything they are made from: the leakpatrol
version and the source of the rule and config models, the rule pack's files, the config file's bytes
and path, and the ``LEAKPATROL_*`` environment. Any change is a miss, and a miss validates
everything as before (so a bad config is still an error). A rule field of a kind this module does
not know how to store means no cache, never a wrong rule.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import logging
import os
import re
import zlib
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import crawler
from crawler import __version__
from crawler.detect.rules import LINEAR_PATTERN, Allowlist, Companion, Lead, Rule, linear_pattern, load_rules
from crawler.detect.scanner import cache_dir

logger = logging.getLogger(__name__)
_PARTS: dict[str, Any] = {cls.__name__: cls for cls in (Companion, Lead, Allowlist)}
FORMAT = 3
"""The cache file's layout (3: every distinct bytes value once, compressed, in ``pool``: the rules share
their 256-byte tables, and a regex rule's head is one table per position); part of the key."""


def _encode(value: Any, pool: dict[bytes, int]) -> Any:
    """``value`` as JSON; bytes go into ``pool`` once each (the rules share their 256-byte tables)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return {"b": pool.setdefault(value, len(pool))}
    if isinstance(value, tuple):
        return {"t": [_encode(v, pool) for v in value]}
    if isinstance(value, frozenset):
        return {"fs": [_encode(v, pool) for v in sorted(value)]}
    if type(value).__name__ in _PARTS and is_dataclass(value):  # a rule's companion, lead or allowlist
        return {"dc": type(value).__name__, "f": {f.name: _encode(getattr(value, f.name), pool) for f in fields(value)}}
    if isinstance(value, list):
        return [_encode(v, pool) for v in value]
    if isinstance(value, LINEAR_PATTERN):  # a regex rule's body: RE2, and RE2 again when read back
        return {"re2": pool.setdefault(bytes(value.pattern), len(pool))}
    if isinstance(value, re.Pattern):
        pattern = value.pattern
        return {"re": pattern.hex() if isinstance(pattern, bytes) else pattern, "bytes": isinstance(pattern, bytes),
                "flags": value.flags}
    raise TypeError(type(value).__name__)


def _decode(value: Any, pool: list[bytes]) -> Any:
    # Run on every value of every cached rule at each start: plain values (most of them) return at
    # once, and a tuple or set of plain values is built without a call per item.
    kind = type(value)
    if kind is list:
        return [_decode(v, pool) for v in value]
    if kind is not dict:
        return value
    if "b" in value:
        return pool[value["b"]]
    if "t" in value:
        items = value["t"]
        return tuple(items) if _plain(items) else tuple(_decode(v, pool) for v in items)
    if "fs" in value:
        items = value["fs"]
        return frozenset(items) if _plain(items) else frozenset(_decode(v, pool) for v in items)
    if "dc" in value:
        return _PARTS[value["dc"]](**{k: _decode(v, pool) for k, v in value["f"].items()})
    if "re2" in value:
        return LazyPattern(pool[value["re2"]], linear=True)
    pattern = bytes.fromhex(value["re"]) if value["bytes"] else value["re"]
    flags = value["flags"] & ~re.UNICODE if value["bytes"] else value["flags"]
    return LazyPattern(pattern, flags)


def _plain(items: list[Any]) -> bool:
    """No item needs decoding (JSON gives back what was written for these)."""
    return not any(type(v) is dict or type(v) is list for v in items)


class LazyPattern:
    """A regex compiled on its first use: most rules' regexes are never needed by a scan (no
    candidate of theirs), and compiling the pack's hundred of them costs start-up time — RE2 takes
    most of a second for the PEM rules' long bounded repeats alone. ``linear`` says which engine:
    RE2 for a rule's body (:func:`~crawler.detect.rules.linear_pattern`), else ``re``. Equal to the
    compiled pattern it stands for."""

    __slots__ = ("_compiled", "flags", "linear", "pattern")

    def __init__(self, pattern: str | bytes, flags: int = 0, *, linear: bool = False) -> None:
        self.pattern, self.flags, self.linear = pattern, flags, linear
        self._compiled: Any = None

    def __getattr__(self, name: str) -> Any:  # match, fullmatch, search, finditer, groups, ...
        if self._compiled is None:
            self._compiled = (linear_pattern(bytes(self.pattern)) if self.linear  # type: ignore[arg-type]
                              else re.compile(self.pattern, self.flags))
        return getattr(self._compiled, name)

    def _key(self) -> tuple[bool, str | bytes, int]:
        return self.linear, self.pattern, self.flags

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyPattern):
            return self._key() == other._key()
        if isinstance(other, LINEAR_PATTERN):
            return self._key() == (True, bytes(other.pattern), 0)
        if isinstance(other, re.Pattern):
            return self._key() == (False, other.pattern, other.flags)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())


def _package() -> Any:
    """The package's folder: the directory itself when it is one (every pip install, editable or not),
    without importing importlib.resources (a tenth of the start-up); a zip's through it."""
    here = Path(crawler.__file__).parent
    if (here / "data" / "rules").is_dir():
        return here
    from importlib import resources

    return resources.files("crawler")


def _key(config: Path | None) -> str:
    h = hashlib.sha256(f"{__version__}|{FORMAT}|{sorted(f.name for f in fields(Rule))}".encode())
    pkg = _package()
    for part in (pkg / "detect" / "rules.py", pkg / "config" / "model.py"):
        h.update(part.read_bytes() if part.is_file() else b"-")
    for f in sorted((f for f in (pkg / "data" / "rules").iterdir() if f.name.endswith(".toml")), key=lambda f: f.name):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    if config is not None:
        h.update(str(config.resolve()).encode() + b"\0" + config.read_bytes())
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith("LEAKPATROL") and k != "LEAKPATROL_CACHE_DIR")
    h.update(json.dumps(env).encode())
    return h.hexdigest()[:32]


def scan_rules(explicit: str | None) -> list[Rule]:
    """The rules of the config (``-c``, ``$LEAKPATROL_CONFIG`` or ``./leakpatrol.toml`` when present)."""
    # crawler.config.loading.config_path's rule, without importing the config model (pydantic)
    named = explicit or os.environ.get("LEAKPATROL_CONFIG")
    default = Path("leakpatrol.toml")
    path = Path(named) if named else (default if default.exists() else None)
    file: Path | None = None
    try:
        file = cache_dir() / f"rules-{_key(path)}.json"
        doc = json.loads(file.read_text("utf-8"))
        pool = [zlib.decompress(binascii.a2b_base64(b)) for b in doc["pool"]]
        rules = [Rule(**{k: _decode(v, pool) for k, v in item.items()}) for item in doc["rules"]]
        from crawler.engine.logs import scrub_with

        scrub_with(rules)
        return rules
    except (OSError, ValueError, TypeError, KeyError, IndexError, zlib.error):
        pass  # no cache (or one this version cannot read, or a damaged one): validate
    rules = _validated(named if path is not None else None, path is not None)
    if file is None:
        return rules
    try:
        shared: dict[bytes, int] = {}
        items = [{f.name: _encode(getattr(r, f.name), shared) for f in fields(Rule)} for r in rules]
        data = json.dumps({"pool": [binascii.b2a_base64(zlib.compress(b), newline=False).decode() for b in shared],
                           "rules": items})
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(data, encoding="utf-8")
        os.replace(tmp, file)
    except (OSError, TypeError) as exc:
        logger.debug("rules not cached: %s", exc)
    return rules


def _validated(named: str | None, present: bool) -> list[Rule]:
    from crawler.config.loading import read_config
    from crawler.engine.logs import scrub_with

    cfg = read_config(named) if present else None
    rules = load_rules(cfg)
    scrub_with(rules)
    return rules
