"""Reading ``leakpatrol.toml``: TOML, then ``LEAKPATROL_<TABLE>__<KEY>`` environment overrides, then the
model's validation; errors name the file, the key and the problem (with a did-you-mean).

This reads the file only: :func:`crawler.plugins.load_config` adds the plug-in tables' validation,
and is what commands call.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from crawler.config.model import CONFIG_ENV, DEFAULT_CONFIG, Config
from crawler.kernel.errors import ConfigError


def key_of(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _suggest(model: type[BaseModel] | None, key: str) -> str:
    if model is None:
        return ""
    close = difflib.get_close_matches(key, list(model.model_fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _model_at(loc: Sequence[int | str], root: type[BaseModel]) -> type[BaseModel] | None:
    model: Any = root
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return None
        ann = field.annotation
        for arg in (*getattr(ann, "__args__", ()), ann):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                model = arg
                break
        else:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def validation_problem(exc: ValidationError, root: type[BaseModel],
                       prefix: Sequence[int | str] = ()) -> tuple[str, str]:
    """First error of a pydantic ``ValidationError`` as ``(key, problem)`` with a suggestion."""
    err = exc.errors()[0]
    loc = [*prefix, *err["loc"]]
    key = key_of(loc)
    if err["type"] == "extra_forbidden":
        last = str(err["loc"][-1]) if err["loc"] else ""
        return key, f"unknown key{_suggest(_model_at(err['loc'], root), last)}"
    if err["type"] == "missing":
        return key, "required key is missing"
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ")
    return key, msg


def _env_overrides(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """``LEAKPATROL_STORAGE__URL=…`` overrides ``[storage] url`` (values parsed as TOML when they can be)."""
    for name, raw in environ.items():
        if not name.startswith("LEAKPATROL_") or "__" not in name:
            continue
        table, _, key = name[len("LEAKPATROL_"):].lower().partition("__")
        try:
            value: Any = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        section = data.setdefault(table, {})
        if isinstance(section, dict):
            section[key] = value
    return data


def config_path(explicit: str | None) -> Path:
    """``-c FILE``, else ``$LEAKPATROL_CONFIG``, else ``./leakpatrol.toml``."""
    return Path(explicit or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def read_config(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None,
                required: bool = True) -> Config:
    """Read, validate and resolve a config file; raise :class:`ConfigError` naming file and key."""
    file = config_path(str(path) if path else None)
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if file.exists():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML: {exc}", file=str(file)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read: {exc}", file=str(file)) from None
    elif required:
        raise ConfigError("file not found (run `leakpatrol init` to write one)", file=str(file))
    return parse_config(_env_overrides(data, environ), file=file)


def parse_config(data: dict[str, Any], *, file: Path | None = None) -> Config:
    """Validate a parsed TOML document into a :class:`Config`."""
    where = str(file) if file else "config"
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        key, problem = validation_problem(exc, Config)
        raise ConfigError(problem, file=where, key=key) from None
    base = str(file.resolve().parent) if file else "."
    _check_ids(cfg, where)
    return cfg.model_copy(update={"path": str(file) if file else None, "base_dir": base})


def unknown(name: str, known: Sequence[str], what: str) -> str:
    """``unknown <what> 'x' (did you mean 'y'?)``, or the list of known names."""
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(sorted(known))}"
    return f"unknown {what} {name!r}{hint}"


def _check_ids(cfg: Config, where: str) -> None:
    """Ids are unique per table, and ``report.notify`` names configured notifiers."""
    notifier_ids = [n.id for n in cfg.notifiers]
    for what, ids in (("rules", [r.id for r in cfg.rules]), ("verifiers", [v.id for v in cfg.verifiers]),
                      ("notifiers", notifier_ids)):
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ConfigError(f"duplicate id {sorted(dupes)[0]!r}", file=where, key=what)
    for nid in cfg.report.notify:
        if nid not in notifier_ids:
            raise ConfigError(unknown(nid, notifier_ids, "notifier"), file=where, key="report.notify")


