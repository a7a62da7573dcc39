"""The rules ``scan`` uses, without validating the config and the rule pack on every run.

Validating them imports pydantic and builds its models: about a tenth of a second, which a
pre-commit hook would pay on every commit. The compiled rules are kept in the cache folder (beside
the compiled Hyperscan database), keyed by everything they are made from: the leakpatrol version and
the source of the rule and config models, the rule pack's files, the config file's bytes and path,
and the ``LEAKPATROL_*`` environment. Any change is a miss, and a miss validates everything as before
(so a bad config is still an error); so is a damaged or unreadable file. A rule field of a kind this
module does not know how to store means no cache, never a wrong rule.

The file is :mod:`marshal` data (about 1 MB for the pack, uncompressed: decompressing took longer
than reading it): plain values (strings, numbers, bytes, tuples, frozensets) are stored as they are,
each distinct bytes value once (the rules share their 256-byte tables); a rule's parts (companion,
lead, allowlist) and regexes are small tagged dicts. Reading it takes a few milliseconds (JSON with a
decoding pass over every value took three to four times as long), and unlike pickle, loading it runs
no code.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import re
from collections.abc import Callable
from typing import Any

import crawler
from crawler import __version__
from crawler.cli.common import scrub_logs_with
from crawler.detect.rules import Allowlist, Companion, Lead, Rule, linear_pattern, linear_pattern_type, load_rules
from crawler.detect.scanner import cache_dir
from crawler.kernel import lazylog

logger = lazylog.Logger(__name__)
_PARTS: dict[str, Any] = {cls.__name__: cls for cls in (Companion, Lead, Allowlist)}
_FIELDS = Rule._fields
FORMAT = 4
"""The cache file's layout (4: marshal, one tuple of field values per rule in ``Rule``'s field order);
part of the key and of the file."""
_PLAIN = (type(None), bool, int, float, str)


def _encode(value: Any, shared: dict[bytes, bytes]) -> Any:
    """``value`` as marshal stores it; equal bytes become one object (marshal writes it once)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is bytes:
        return shared.setdefault(value, value)
    if kind is tuple:
        items = tuple(_encode(v, shared) for v in value)
        return items if all(type(v) is not dict for v in items) else {"t": list(items)}
    if kind is frozenset:
        items = tuple(_encode(v, shared) for v in sorted(value))
        return frozenset(items) if all(type(v) is not dict for v in items) else {"fs": list(items)}
    if type(value) in _PARTS.values():  # a rule's companion, lead or allowlist
        parts = {name: _encode(getattr(value, name), shared) for name in value._fields}
        return {"dc": type(value).__name__, "f": parts}
    if isinstance(value, linear_pattern_type()):  # a regex rule's body: RE2, and RE2 again when read back
        return {"re2": bytes(value.pattern)}
    if isinstance(value, re.Pattern):
        return {"re": value.pattern, "flags": value.flags}
    raise TypeError(type(value).__name__)


def _decode(value: Any) -> Any:
    """A stored field value back; only the tagged dicts need work (run for every field at each start)."""
    if type(value) is not dict:
        return value
    if "t" in value:
        return tuple(map(_decode, value["t"]))
    if "fs" in value:
        return frozenset(map(_decode, value["fs"]))
    if "dc" in value:
        return _PARTS[value["dc"]](**{k: _decode(v) for k, v in value["f"].items()})
    if "re2" in value:
        return LazyPattern(value["re2"], linear=True)
    pattern = value["re"]
    return LazyPattern(pattern, value["flags"] & ~re.UNICODE if isinstance(pattern, bytes) else value["flags"])


def _dump(rules: list[Rule]) -> bytes:
    shared: dict[bytes, bytes] = {}
    rows = [tuple(_encode(getattr(r, name), shared) for name in _FIELDS) for r in rules]
    return marshal.dumps((FORMAT, _FIELDS, rows), 4)


def _load(data: bytes) -> list[Rule]:
    """The rules in a cache file; ``ValueError`` (or the error of a damaged file) when it is not one."""
    form, names, rows = marshal.loads(data)
    if form != FORMAT or names != _FIELDS or any(type(row) is not tuple or len(row) != len(_FIELDS) for row in rows):
        raise ValueError("not a rule cache of this layout")
    return [Rule(*map(_decode, row)) for row in rows]


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
        if isinstance(other, linear_pattern_type()):
            return self._key() == (True, bytes(other.pattern), 0)
        if isinstance(other, re.Pattern):
            return self._key() == (False, other.pattern, other.flags)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _package_files() -> list[bytes]:
    """What the key holds of the package: the rule and config models' source and the pack's files, read
    from the package's folder when it is one (every pip install, editable or not), without importing
    importlib.resources or pathlib (a good part of the start-up); from a zip through resources."""
    here = os.path.dirname(crawler.__file__)
    read: Callable[[str], bytes | None]
    if os.path.isdir(os.path.join(here, "data", "rules")):
        def read(rel: str) -> bytes | None:
            path = os.path.join(here, *rel.split("/"))
            return _read(path) if os.path.isfile(path) else None

        names = os.listdir(os.path.join(here, "data", "rules"))
    else:
        from importlib import resources

        pkg = resources.files("crawler")

        def read(rel: str) -> bytes | None:
            part = pkg.joinpath(*rel.split("/"))
            return part.read_bytes() if part.is_file() else None

        names = [f.name for f in pkg.joinpath("data", "rules").iterdir()]
    models = [read(m) for m in ("detect/rules.py", "config/model.py")]
    return ([b"-" if m is None else m for m in models]
            + [n.encode() + b"\0" + (read(f"data/rules/{n}") or b"") for n in sorted(names) if n.endswith(".toml")])


def _key(config: str | None) -> str:
    h = hashlib.sha256(f"{__version__}|{FORMAT}|{_FIELDS}".encode())
    for part in _package_files():
        h.update(part)
    if config is not None:
        h.update(os.path.realpath(config).encode() + b"\0" + _read(config))
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith("LEAKPATROL") and k != "LEAKPATROL_CACHE_DIR")
    h.update(repr(env).encode())
    return h.hexdigest()[:32]


def cache_file(config: str | None) -> str:
    """Where the rules made from ``config`` (and the pack, and the environment) are cached."""
    return os.path.join(cache_dir(), f"rules-{_key(config)}.bin")


def scan_rules(explicit: str | None) -> list[Rule]:
    """The rules of the config (``-c``, ``$LEAKPATROL_CONFIG`` or ``./leakpatrol.toml`` when present)."""
    # crawler.config.loading.config_path's rule, without importing the config model (pydantic)
    named = explicit or os.environ.get("LEAKPATROL_CONFIG")
    path = named or ("leakpatrol.toml" if os.path.exists("leakpatrol.toml") else None)
    file: str | None = None
    try:
        file = cache_file(path)
        rules = _load(_read(file))
        scrub_logs_with(rules)
        return rules
    except (OSError, ValueError, TypeError, KeyError, IndexError, EOFError):
        pass  # no cache (or one this version cannot read, or a damaged one): validate
    rules = _validated(named if path is not None else None, path is not None)
    if file is None:
        return rules
    try:
        data = _dump(rules)
        os.makedirs(os.path.dirname(file), exist_ok=True)
        tmp = f"{file}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, file)
    except (OSError, TypeError, ValueError) as exc:
        logger.debug("rules not cached: %s", exc)
    return rules


def _validated(named: str | None, present: bool) -> list[Rule]:
    from crawler.config.loading import read_config

    cfg = read_config(named) if present else None
    rules = load_rules(cfg)
    scrub_logs_with(rules)
    return rules
