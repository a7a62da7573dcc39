"""Issue 11, "plaintext leaks despite the invariant": a token in a traceback (human and JSON logs),
an error text cut *before* it was scrubbed (the part of the token left is rebuildable through its
checksum), a token in a gist's file name stored in the sighting's path, and key files or data
folders that others can read or write, accepted silently."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import httpx
import pytest
import respx

from crawler.detect.rules import load_rules
from crawler.engine.logs import Scrubber, setup_logging
from crawler.kernel.errors import SourceUnavailable
from crawler.plugins import build_config
from crawler.store.runtime import loose_permissions
from tests.hostile.helpers import gists_runner
from tests.pipeline.test_plaintext import assert_absent
from tests.sources.helpers import token

API = "https://api.github.com"
RAW = "https://gist.githubusercontent.com"


def acme_rules() -> list:  # type: ignore[type-arg]
    cfg = build_config({"scanner": {"builtin_rules": False}, "rules": [
        {"id": "acme-live", "prefix": "acme_live_", "charset": "base62", "length": 36, "checksum": "crc32-base62"}]})
    return load_rules(cfg)


@pytest.mark.parametrize("fmt", ["human", "json"])
def test_a_token_inside_a_traceback_is_scrubbed_in_every_formatter(
        fmt: str, restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    tok = token()
    setup_logging(fmt, rules=acme_rules())
    try:
        raise ValueError(f"the server echoed {tok} back")
    except ValueError:
        logging.getLogger("test").exception("poll failed")
    err = capsys.readouterr().err
    assert "ValueError" in err and "poll failed" in err  # the traceback is there …
    assert_absent([tok], err, f"the {fmt} log")  # … the token is not
    assert tok[:10] in err  # its redacted form is
    if fmt == "json":
        assert "Traceback" in json.loads(err.splitlines()[0])["exc"]


def test_a_cut_never_keeps_part_of_a_token() -> None:
    tok = token()
    text = "x" * 190 + tok + " and more"
    cut = Scrubber(acme_rules()).cut(text, 200)
    assert len(cut) == 200 and tok[len("acme_live_"):][:4] not in cut[190:]


async def test_a_token_echoed_in_an_error_is_scrubbed_before_last_error_is_cut(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cut falls inside the token: the stored ``last_error`` holds its redacted form only."""
    tok = token()
    problem = "y" * (500 - len("github_gists: ") - 20) + tok + " (echoed)"
    async with gists_runner(tmp_path, monkeypatch) as (h, runner):
        no_network.get(f"{API}/gists/public").mock(side_effect=SourceUnavailable("github_gists", problem))
        out = await runner.poll()
        state = h.store.source_state("github_gists")
    assert not out.ok
    assert_absent([tok], state.last_error, "last_error")
    assert len(state.last_error) <= 500 and "yyyy" in state.last_error


async def test_a_token_in_a_gist_file_name_is_stored_redacted_in_the_sighting(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    in_name, in_body = token(), token()
    raw = f"{RAW}/someone/abc123/raw/{in_name}.env"
    no_network.get(f"{API}/gists/public").mock(return_value=httpx.Response(200, json=[{
        "id": "abc123", "html_url": "https://gist.github.com/someone/abc123", "updated_at": "2026-01-01T00:00:00Z",
        "owner": {"login": f"who-{in_name}"}, "files": {f"{in_name}.env": {"raw_url": raw}}}]))
    no_network.get(raw).mock(return_value=httpx.Response(200, text=f"KEY={in_body}\nOTHER={in_name}\n"))
    async with gists_runner(tmp_path, monkeypatch) as (h, runner):
        out = await runner.poll()
        sightings = h.store.sightings()
    assert out.ok and len(sightings) == 2
    for s in sightings:
        assert s.path is not None and s.path.startswith("acme_live_") and s.path.endswith(".env")
        stored = f"{s.url} {s.path} {json.dumps(s.meta)}"
        assert_absent([in_name, in_body], stored, "a sighting's url/path/meta")


def test_a_key_file_others_can_read_and_a_world_writable_data_folder_are_named(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    key = data / "lp.key"
    key.write_text("x")
    cfg = build_config({"storage": {"url": f"sqlite:///{data / 'lp.db'}", "key_file": str(key),
                                    "signing_key_file": str(data / "none.pem")}})
    os.chmod(key, 0o600)
    os.chmod(data, 0o700)
    assert loose_permissions(cfg) == []
    os.chmod(key, 0o644)
    os.chmod(data, 0o777)
    problems = loose_permissions(cfg)
    assert any(str(key) in p and "0644" in p for p in problems)
    assert any(str(data) in p and "world-writable" in p for p in problems)


async def test_a_parked_gist_whose_file_name_holds_a_token_is_stored_without_it_and_fetched_again(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parked document's key and ref are built from the file name: the key is stored redacted,
    the ref (the raw URL is needed to fetch it again) sealed with the store's cipher."""
    in_name, in_body = token(), token()
    name = f"{in_name}.env"
    raw = f"{RAW}/someone/abc123/raw/0123abcd/{name}"
    no_network.get(f"{API}/gists/public").mock(return_value=httpx.Response(200, json=[{
        "id": "abc123", "html_url": "https://gist.github.com/someone/abc123", "updated_at": "2026-01-01T00:00:00Z",
        "owner": {"login": "someone"}, "files": {name: {"raw_url": raw}}}]))
    content = no_network.get(raw).mock(return_value=httpx.Response(503))
    async with gists_runner(tmp_path, monkeypatch) as (h, runner):
        parked = await runner.poll()
        [row] = h.store.parked_documents("github_gists")
        files = {p.name: p.read_bytes() for p in tmp_path.glob("lp.db*")}
        content.mock(return_value=httpx.Response(200, text=f"KEY={in_body}\n"))
        h.clock.advance(3600)
        fetched = await runner.poll()
        left = h.store.parked_documents("github_gists")
        sightings = h.store.sightings()
    assert parked.ok and parked.documents == 0 and content.call_count > 1  # parked, not lost
    assert row.ref["url"] == raw and row.ref["path"] == name  # what the source reads back is whole
    assert row.key.startswith("abc123/acme_live_") and "sha256:" in row.key
    assert "lp.db" in files
    for file, data in files.items():
        assert_absent([in_name], data, f"the database file {file}")
    assert fetched.ok and left == []  # fetched again from the stored ref
    assert [s.line for s in sightings] == [1] and sightings[0].path and sightings[0].path.endswith(".env")
    assert_absent([in_name], sightings[0].path, "the sighting's path")
