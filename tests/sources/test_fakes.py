"""The fakes' registry (``sources.fakes.FAKES``): one entry per registered source, and a sandbox
that reaches every provider through it alone."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from sources import SOURCES
from sources.fakes import FAKES, build_services, demo_kinds

ROOT = Path(__file__).resolve().parents[2]
BASE = "http://127.0.0.1:8765"


def provider_words() -> set[str]:
    """Every name a provider-free module must not contain: source kinds, service names and prefixes."""
    words = {"github", "gitlab", "pastebin"} | set(SOURCES) | set(FAKES)
    for fake in FAKES.values():
        words |= {fake.service.name, fake.service.prefix.strip("/")}
    return {w.lower() for w in words if w}


def test_every_source_has_a_fake_and_nothing_else_does() -> None:
    assert sorted(FAKES) == sorted(SOURCES)
    for kind, fake in FAKES.items():
        assert fake.kind == kind
        assert fake.multi == SOURCES[kind].multi, f"{kind}: [[…]] vs […] header disagrees with the source"
        assert fake.header == (f"[[sources.{kind}]]" if fake.multi else f"[sources.{kind}]")


@pytest.mark.parametrize("kind", sorted(FAKES))
def test_entry_lives_next_to_its_service(kind: str) -> None:
    fake = FAKES[kind]
    module = importlib.import_module(fake.service.__module__)
    assert module.__name__.startswith("sources.fakes.")
    assert fake in module.FAKES, f"{kind}'s entry belongs in {module.__name__}.FAKES, beside its service"


@pytest.mark.parametrize("kind", sorted(FAKES))
def test_table_is_a_valid_config_table_with_its_secrets(kind: str) -> None:
    fake = FAKES[kind]
    services = build_services(FAKES.values())
    service = services[fake.service.name]
    service.bind(BASE)
    table = fake.table(service)
    options = SOURCES[kind].Options.model_validate({**table.values, "interval": "1s"})
    assert str(options.api_url).rstrip("/") == table.url.rstrip("/")
    assert table.url.startswith(service.base_url) and service.base_url == BASE + service.prefix
    env_keys = {str(v) for k, v in table.values.items() if k.endswith("_env")}
    assert env_keys == set(table.env), f"{kind}: every *_env the table names has a fake value, and only those"


def test_one_service_instance_per_class_with_its_own_options() -> None:
    services = build_services(FAKES.values(), poll_interval=3.0, max_items=7,
                              options={"github": {"search_rate_limit": 1}})
    assert len(services) == len({f.service for f in FAKES.values()})
    assert all(s.poll_interval == 3.0 and s.max_items == 7 for s in services.values())
    assert len({s.prefix for s in services.values()}) == len(services), "each service has its own prefix"
    assert services["github"].search_quota.limit == 1  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="no fake service named 'nope'"):
        build_services(FAKES.values(), options={"nope": {}})
    with pytest.raises(TypeError):
        build_services(FAKES.values(), options={"gitlab": {"search_rate_limit": 1}})


def test_demo_kinds_are_registered_and_leave_out_the_slow_ones() -> None:
    assert set(demo_kinds()) < set(FAKES)
    assert "github_search" not in demo_kinds()  # paced at ~10 searches a minute per rule prefix


@pytest.mark.parametrize("path", sorted((ROOT / "crawler" / "demo").rglob("*.py")), ids=lambda p: p.name)
def test_the_sandbox_and_demo_name_no_provider(path: Path) -> None:
    text = path.read_text("utf-8").lower()
    named = sorted(w for w in provider_words() if re.search(re.escape(w), text))
    assert named == [], f"{path.relative_to(ROOT)} names {named}; reach providers through sources.fakes.FAKES"


def test_the_provider_grep_has_words_and_files() -> None:
    assert {"github", "gitlab", "pastebin", "paste_sites", "github_events", "pastesite"} <= provider_words()
    sandbox = ROOT / "crawler" / "demo" / "sandbox"
    assert {p.name for p in sandbox.glob("*.py")} >= {"__init__.py", "server.py", "config.py", "issuer.py"}
