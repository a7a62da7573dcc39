"""``leakpatrol init`` and ``leakpatrol check`` (DESIGN.md "CLI")."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from crawler.store.crypto import parse_key
from tests.cli.helpers import ACME_RULE, run, run_subprocess, write_config


def test_init_writes_config_data_and_a_private_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "deploy"
    res = run(capsys, "init", str(target))
    assert res.code == 0, res.err
    config = target / "leakpatrol.toml"
    key = target / "data" / "leakpatrol.key"
    assert config.is_file()
    assert (target / "data").is_dir()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(parse_key(key.read_text(encoding="utf-8"), str(key))) == 32, "the key file holds a usable key"
    text = config.read_text(encoding="utf-8")
    assert text.lstrip().startswith("#"), "the config is commented"
    assert "[[rules]]" in text
    assert str(config) in res.out


def test_init_writes_the_deployments_signing_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The ECDSA P-256 key that signs github_partner alerts, stored like the encryption key."""
    from crawler.kernel.partner import DeploymentKey

    res = run(capsys, "init", str(tmp_path))
    assert res.code == 0, res.err
    path = tmp_path / "data" / "leakpatrol-signing.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keys = DeploymentKey("", path).load()
    assert [k["key_identifier"] for k in keys.document()["public_keys"]] == [keys.current_id]
    assert "/meta/public_keys/secret_scanning" in res.out and "PRIVATE" not in res.out


def test_init_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "init", str(tmp_path)).code == 0
    config = tmp_path / "leakpatrol.toml"
    key = tmp_path / "data" / "leakpatrol.key"
    config.write_text("# mine\n", encoding="utf-8")
    key_before = key.read_bytes()
    res = run(capsys, "init", str(tmp_path))
    assert res.code == 2
    assert "already exists" in res.err
    assert config.read_text(encoding="utf-8") == "# mine\n"
    assert key.read_bytes() == key_before


def test_init_keeps_an_existing_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "data").mkdir()
    key = tmp_path / "data" / "leakpatrol.key"
    key.write_text("existing\n", encoding="utf-8")
    res = run(capsys, "init", str(tmp_path))
    assert res.code == 0
    assert key.read_text(encoding="utf-8") == "existing\n"
    assert "kept existing key" in res.out


def test_the_written_config_passes_check(tmp_path: Path) -> None:
    """As a user would run it: two real processes, the default config path in the current folder."""
    assert run_subprocess("init", cwd=tmp_path).code == 0
    res = run_subprocess("check", cwd=tmp_path)
    assert res.code == 0, res.err
    assert "(valid)" in res.out
    assert "acme-live" in res.out
    assert "Traceback" not in res.err


def test_check_prints_what_will_run(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-obviously-fake-0000")
    config = write_config(tmp_path, ACME_RULE + """
[[verifiers]]
id = "acme-whoami"
kind = "http"
url = "https://api.acme.example/v1/whoami"
headers = { Authorization = "Bearer {token}" }

[[notifiers]]
id = "security-chat"
kind = "chat"
url_env = "SECURITY_CHAT_WEBHOOK"
on = ["live", "unknown"]

[sources.github_events]
token_env = "GITHUB_TOKEN"
interval = "60s"

[sources.gitlab_snippets]
token_env = "GITLAB_TOKEN"
interval = "2m"

[verification]
recheck = "30m"
""")
    res = run(capsys, "check", "-c", str(config))
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    assert lines[0] == f"config   {config} (valid)"
    assert any(line.strip().startswith("- acme-live: acme_live_<base62 × 36> checksum=crc32-base62")
               for line in lines)
    assert "verifier acme-whoami (http)" in res.out
    github = next(line for line in lines if line.startswith("source   github_events"))
    assert "disabled" in github and "GITHUB_TOKEN" in github, "a source whose token_env is unset is disabled"
    gitlab = next(line for line in lines if line.startswith("source   gitlab_snippets"))
    assert "disabled" not in gitlab and "every 2m" in gitlab
    assert "glpat-obviously-fake-0000" not in res.out, "secrets are never printed"
    assert "re-check live tokens every 30m" in res.out
    notifier = next(line for line in lines if line.startswith("notifier security-chat"))
    assert "SECURITY_CHAT_WEBHOOK" in notifier, "a notifier without its credentials says so"


@pytest.mark.parametrize(("text", "needle"), [
    pytest.param("[storage]\nurll = 'x'\n", "storage.urll: unknown key (did you mean 'url'?)", id="unknown-key"),
    pytest.param("[verification\n", "not valid TOML", id="bad-toml"),
    pytest.param("[[rules]]\nid = 'acme-x'\nprefix = 'acme_x_'\nregex = '[a-z]+'\n", "rules[0]: regex must have",
                 id="bad-rule"),
])
def test_check_exits_2_on_an_invalid_config(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                                            needle: str) -> None:
    config = write_config(tmp_path, text)
    res = run(capsys, "check", "-c", str(config))
    assert res.code == 2
    assert f"{config}: " in res.err and needle in res.err
    assert "Traceback" not in res.err
    assert res.out == ""


def test_check_invalid_config_in_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    write_config(tmp_path, "[sources.github_events]\ntoken_env = 'GITHUB_TOKEN'\ninterval = 'soon'\n")
    res = run_subprocess("check", cwd=tmp_path)
    assert res.code == 2
    assert "leakpatrol.toml: sources.github_events.interval: 'soon' is not a duration" in res.err
    assert "Traceback" not in res.err


def test_check_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = run(capsys, "check")
    assert res.code == 2
    assert "leakpatrol.toml: file not found" in res.err
    assert "leakpatrol init" in res.err


def test_config_from_the_environment_variable(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(tmp_path, ACME_RULE, name="elsewhere.toml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEAKPATROL_CONFIG", str(config))
    res = run(capsys, "check")
    assert res.code == 0, res.err
    assert str(config) in res.out


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    res = run(capsys)
    assert res.code == 2
    assert "COMMAND" in res.out


def test_init_into_a_file_is_an_error_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("", encoding="utf-8")
    res = run(capsys, "init", str(blocker))
    assert res.code == 2
    assert res.err.strip() == f"leakpatrol: {blocker}: File exists"
