"""Every recording is small, says where it comes from, and holds no token; every source has some."""

from __future__ import annotations

from crawler.config.model import Config
from crawler.detect.rules import load_rules
from crawler.detect.scanner import Scanner
from sources import SOURCES
from tests.realworld.replay import RECORDINGS, load, names, provenance

KEYS = {"repository", "path", "commit", "licence", "what", "changes"}
SHARED = {"github": ("github_events", "gharchive", "github_gists", "github_search"),
          "github_events": ("github_events", "gharchive")}
"""Recordings named ``github.*`` (errors and limits of api.github.com) apply to every GitHub source; the
recorded events page is replayed as a GH Archive hour too (the archive records the events API's objects)."""


def test_at_least_twenty_recordings_each_with_its_provenance() -> None:
    recorded = names()
    assert len(recorded) >= 20
    for name in recorded:
        prov = provenance(name)
        assert set(prov) == KEYS, name
        assert prov["repository"].startswith("https://github.com/") and len(prov["commit"]) == 40, name
        assert prov["licence"] and prov["path"], name
        assert (RECORDINGS / f"{name}.json").stat().st_size < 32 * 1024, f"{name} is not small"
    assert {p.name for p in RECORDINGS.iterdir()} == {f"{n}{ext}" for n in recorded
                                                      for ext in (".json", ".provenance.json")}


def test_every_source_has_recordings() -> None:
    covered: set[str] = set()
    for name in names():
        prefix = name.split(".", 1)[0]
        covered.update(SHARED.get(prefix, (prefix,)))
    assert set(SOURCES) <= covered


def test_no_recording_holds_a_token_of_any_built_in_rule() -> None:
    scanner = Scanner(load_rules(Config()))
    bodies = [load(n).body.encode() for n in names()]
    assert [n for n, matches in zip(names(), scanner.scan_batch(bodies), strict=True) if matches] == []
