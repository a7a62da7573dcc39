"""The daemon's ``/meta/public_keys/secret_scanning``: the deployment's public keys in GitHub's format,
read on each request (a rotation needs no restart); none when there is no key; 503 for a broken one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from crawler.engine.health import create_app
from crawler.kernel.partner import KEYS_PATH, DeploymentKey, generate_pem, parse_public_keys


async def get(key: DeploymentKey | None) -> httpx.Response:
    app = create_app(None, [], {}, key)  # type: ignore[arg-type]  # the keys route never reads the engine
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://daemon") as client:
        return await client.get(KEYS_PATH)


async def test_no_key_publishes_an_empty_set(tmp_path: Path) -> None:
    for key in (None, DeploymentKey("LP_TEST_SIGNING", tmp_path / "absent.pem")):
        resp = await get(key)
        assert (resp.status_code, resp.json()) == (200, {"public_keys": []})


async def test_a_rotation_is_published_without_a_restart(tmp_path: Path) -> None:
    key = DeploymentKey("", tmp_path / "signing.pem")
    assert key.create_if_missing()
    first: list[dict[str, Any]] = (await get(key)).json()["public_keys"]
    assert [k["is_current"] for k in first] == [True]
    key.path.write_text(generate_pem() + key.path.read_text())  # the new key first, the old one kept
    resp = await get(key)
    rotated = resp.json()["public_keys"]
    assert [k["is_current"] for k in rotated] == [True, False]
    assert rotated[1]["key_identifier"] == first[0]["key_identifier"]
    assert set(parse_public_keys(resp.content)) == {k["key_identifier"] for k in rotated}
    assert "PRIVATE" not in resp.text


async def test_a_key_from_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LP_TEST_SIGNING", generate_pem())
    on_disk = DeploymentKey("", tmp_path / "k.pem")
    on_disk.create_if_missing()
    both = DeploymentKey("LP_TEST_SIGNING", on_disk.path)
    [published] = (await get(both)).json()["public_keys"]
    assert published["key_identifier"] == both.load().current_id != on_disk.load().current_id


async def test_a_broken_key_is_503_without_its_content(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "k.pem"
    path.write_text("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n")
    resp = await get(DeploymentKey("", path))
    assert resp.status_code == 503 and "c2VjcmV0" not in resp.text + caplog.text
    assert str(path) in caplog.text
