"""The config model: unknown keys, durations, secrets, URLs, errors that name file + key, env overrides,
relative paths, and rule consistency (DESIGN.md "Config file", STYLE.md 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.config.model import secret
from crawler.detect.rules import load_rules
from crawler.kernel.errors import ConfigError
from crawler.plugins import build_config, load_config

WEBHOOK = """
[[notifiers]]
id = "acme-revoke"
kind = "webhook"
url = "{url}"
secret_env = "ACME_WEBHOOK_SECRET"
"""


def _write(tmp_path: Path, text: str, name: str = "leakpatrol.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path: Path, text: str) -> ConfigError:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_rules(load_config(path))
    assert info.value.file == str(path), "the error names the file"
    assert str(path) in str(info.value)
    return info.value


# -- unknown keys, with a suggestion ---------------------------------------------------------

@pytest.mark.parametrize(("text", "key", "suggestion"), [
    pytest.param("[storag]\nurl = 'sqlite:///x.db'\n", "storag", "storage", id="top-level"),
    pytest.param("[storage]\nurll = 'sqlite:///x.db'\n", "storage.urll", "url", id="nested"),
    pytest.param("[scanner]\nmax_document_byte = 2048\n", "scanner.max_document_byte", "max_document_bytes",
                 id="scanner"),
    pytest.param("[[rules]]\nid = 'acme-live'\nprefix = 'acme_live_'\ncharset = 'base62'\nlenght = 36\n",
                 "rules[0].lenght", "length", id="rules-table"),
    pytest.param("[sources.github_events]\ntoken_env = 'GITHUB_TOKEN'\nintervall = '60s'\n",
                 "sources.github_events.intervall", "interval", id="source-table"),
    pytest.param("[[sources.paste_sites]]\nname = 'p'\narchive_url = 'https://p.example/lists'\n"
                 "link_selector = 'a'\nraw_url = 'https://p.example/raw/{key}'\nraw_ulr = 'x'\n",
                 "sources.paste_sites[0].raw_ulr", "raw_url", id="source-list-table"),
    pytest.param("[[verifiers]]\nid = 'v'\nkind = 'http'\nurl = 'https://api.acme.example/whoami'\n"
                 "headers = { Authorization = 'Bearer {token}' }\nlive_stauts = [200]\n",
                 "verifiers[0].live_stauts", "live_status", id="verifier-table"),
    pytest.param(WEBHOOK.format(url="https://hooks.acme.example/lp") + "max_backof = '10m'\n",
                 "notifiers[0].max_backof", "max_backoff", id="notifier-table"),
])
def test_unknown_key_is_rejected_with_did_you_mean(tmp_path: Path, text: str, key: str, suggestion: str) -> None:
    exc = _error(tmp_path, text)
    assert exc.key == key
    assert "unknown key" in exc.problem
    assert f"did you mean {suggestion!r}" in exc.problem


@pytest.mark.parametrize(("text", "key", "suggestion"), [
    ("[sources.github_event]\ntoken_env = 'GITHUB_TOKEN'\n", "sources.github_event", "github_events"),
    ("[[verifiers]]\nid = 'v'\nkind = 'htp'\n", "verifiers[0].kind", "http"),
    ("[[notifiers]]\nid = 'n'\nkind = 'webhok'\n", "notifiers[0].kind", "webhook"),
])
def test_unknown_plugin_name_is_rejected_with_did_you_mean(tmp_path: Path, text: str, key: str,
                                                          suggestion: str) -> None:
    exc = _error(tmp_path, text)
    assert exc.key == key
    assert f"did you mean {suggestion!r}" in exc.problem


# -- durations -------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "seconds"), [
    ('"500ms"', 0.5), ('"30s"', 30.0), ('"5m"', 300.0), ('"1h"', 3600.0), ('"7d"', 7 * 86400.0),
    ("90", 90.0), ("2.5", 2.5),
])
def test_durations_as_strings_or_numbers(tmp_path: Path, raw: str, seconds: float) -> None:
    cfg = load_config(_write(tmp_path, f"[verification]\nrecheck = {raw}\n"))
    assert cfg.verification.recheck == seconds


def test_durations_in_plugin_tables(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, "[sources.github_events]\ntoken_env = 'GITHUB_TOKEN'\ninterval = '2m'\n"))
    assert cfg.source_specs[0].options.interval == 120.0


@pytest.mark.parametrize("raw", ['"5 minutes"', '"-3s"', '"fast"', "-1", "true"])
def test_bad_duration_is_named(tmp_path: Path, raw: str) -> None:
    exc = _error(tmp_path, f"[verification]\nrecheck = {raw}\n")
    assert exc.key == "verification.recheck"
    assert "duration" in exc.problem


# -- secrets through *_env -------------------------------------------------------------------

def test_env_keys_resolve_through_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = load_config(_write(tmp_path, WEBHOOK.format(url="https://hooks.acme.example/lp")))
    env_name = cfg.notifiers[0].extras()["secret_env"]
    assert env_name == "ACME_WEBHOOK_SECRET"
    monkeypatch.delenv(env_name, raising=False)
    assert secret(env_name) is None
    monkeypatch.setenv(env_name, "")
    assert secret(env_name) is None, "an empty variable counts as unset"
    monkeypatch.setenv(env_name, "whsec_ZmFrZS1zZWNyZXQ=")
    assert secret(env_name) == "whsec_ZmFrZS1zZWNyZXQ="
    assert secret(None) is None


def test_a_secret_value_is_never_kept_in_the_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_WEBHOOK_SECRET", "whsec_bm90LWluLXRoZS1jb25maWc=")
    cfg = load_config(_write(tmp_path, WEBHOOK.format(url="https://hooks.acme.example/lp")))
    assert "whsec_bm90LWluLXRoZS1jb25maWc=" not in repr(cfg)


# -- URLs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://hooks.acme.example/lp", "http://10.0.0.1/lp", "ftp://hooks.acme.example/",
                                 "hooks.acme.example/lp", "http://127.0.0.1.example.com/lp",
                                 "http://localhost.example.com/lp"])
def test_non_https_url_is_rejected(tmp_path: Path, url: str) -> None:
    exc = _error(tmp_path, WEBHOOK.format(url=url))
    assert exc.key == "notifiers[0].url"
    assert url in exc.problem


@pytest.mark.parametrize("url", ["http://localhost:8080/lp", "http://127.0.0.5:8080/lp", "http://[::1]:8080/lp",
                                 "http://127.0.0.1/lp", "https://hooks.acme.example/lp"])
def test_https_or_loopback_http_is_accepted(tmp_path: Path, url: str) -> None:
    cfg = load_config(_write(tmp_path, WEBHOOK.format(url=url)))
    assert cfg.notifiers[0].extras()["url"] == url


def test_source_urls_are_checked_too(tmp_path: Path) -> None:
    exc = _error(tmp_path, "[sources.github_events]\napi_url = 'http://api.github.example'\ntoken_env = 'T'\n")
    assert exc.key == "sources.github_events.api_url"
    assert "https" in exc.problem
    cfg = load_config(_write(tmp_path, "[sources.github_events]\napi_url = 'http://localhost:9/api'\n"
                                       "token_env = 'T'\n"))
    assert cfg.source_specs[0].options.api_url == "http://localhost:9/api"


# -- file-level errors -----------------------------------------------------------------------

def test_invalid_toml_names_the_file_and_the_position(tmp_path: Path) -> None:
    exc = _error(tmp_path, "[storage\nurl = 1\n")
    assert "not valid TOML" in exc.problem
    assert "line 1" in exc.problem


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.file == str(path)
    assert "not found" in info.value.problem


def test_wrong_type_names_the_key(tmp_path: Path) -> None:
    exc = _error(tmp_path, "[scanner]\nmax_document_bytes = 'big'\n")
    assert exc.key == "scanner.max_document_bytes"
    assert str(exc) == f"{exc.file}: scanner.max_document_bytes: {exc.problem}"


def test_missing_required_key(tmp_path: Path) -> None:
    exc = _error(tmp_path, "[[rules]]\nprefix = 'acme_live_'\ncharset = 'base62'\nlength = 36\n")
    assert exc.key == "rules[0].id"
    assert "missing" in exc.problem


def test_cross_references_are_checked(tmp_path: Path) -> None:
    exc = _error(tmp_path, "[[rules]]\nid = 'acme-live'\nprefix = 'acme_live_'\ncharset = 'base62'\n"
                           "length = 36\nverifier = 'acme-whoamii'\n"
                           "[[verifiers]]\nid = 'acme-whoami'\nkind = 'http'\nurl = 'https://api.acme.example/w'\n"
                           "headers = { Authorization = 'Bearer {token}' }\n")
    assert exc.key == "rules[0].verifier"
    assert "acme-whoami" in exc.problem


# -- layering: environment overrides, relative paths -----------------------------------------

def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "[server]\nlisten = '127.0.0.1:9464'\n[verification]\nrecheck = '1h'\n")
    cfg = load_config(path, environ={"LEAKPATROL_SERVER__LISTEN": "127.0.0.1:9999",
                                     "LEAKPATROL_VERIFICATION__RECHECK": "5m",
                                     "LEAKPATROL_SCANNER__MAX_DOCUMENT_BYTES": "4096"})
    assert cfg.server.listen == "127.0.0.1:9999"
    assert cfg.verification.recheck == 300.0
    assert cfg.scanner.max_document_bytes == 4096, "numbers are parsed as TOML values"


def test_environment_override_from_the_process_environment(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKPATROL_STORAGE__URL", "sqlite:///elsewhere.db")
    cfg = load_config(_write(tmp_path, "[storage]\nurl = 'sqlite:///data/leakpatrol.db'\n"))
    assert cfg.database_url() == f"sqlite:///{(tmp_path / 'elsewhere.db').resolve()}"


def test_bad_environment_override_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, ""), environ={"LEAKPATROL_SERVER__LISTN": "x"})
    assert info.value.key == "server.listn"
    assert "did you mean 'listen'" in info.value.problem


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf_dir = tmp_path / "etc" / "leakpatrol"
    conf_dir.mkdir(parents=True)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_config(_write(conf_dir, "[storage]\nurl = 'sqlite:///data/lp.db'\nkey_file = 'data/lp.key'\n"))
    assert cfg.database_url() == f"sqlite:///{(conf_dir / 'data' / 'lp.db').resolve()}"
    assert cfg.resolve_path(cfg.storage.key_file).resolve() == (conf_dir / "data" / "lp.key").resolve()
    assert cfg.resolve_path("/var/lib/lp.key") == Path("/var/lib/lp.key")


def test_absolute_and_non_sqlite_urls_are_kept(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, "[storage]\nurl = 'sqlite:////var/lib/lp.db'\n"))
    assert cfg.database_url() == "sqlite:////var/lib/lp.db"
    cfg = load_config(_write(tmp_path, "[storage]\nurl = 'postgresql+psycopg://lp@db/lp'\n"))
    assert cfg.database_url() == "postgresql+psycopg://lp@db/lp"


def test_config_path_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, "[server]\nlisten = '127.0.0.1:1234'\n", name="custom.toml")
    monkeypatch.setenv("LEAKPATROL_CONFIG", str(path))
    assert load_config().server.listen == "127.0.0.1:1234"


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = build_config({})
    assert cfg.scanner.max_document_bytes == 10 * 1024 * 1024
    assert cfg.verification.recheck == 3600.0
    assert cfg.source_specs == []


# -- sources enable/disable ------------------------------------------------------------------

def test_a_source_is_enabled_by_its_table_and_off_with_enabled_false(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, "[sources.github_events]\ntoken_env = 'GITHUB_TOKEN'\n"
                                       "[sources.github_gists]\ntoken_env = 'GITHUB_TOKEN'\nenabled = false\n"))
    assert [s.name for s in cfg.source_specs] == ["github_events"]


def test_single_and_list_tables_are_not_confused(tmp_path: Path) -> None:
    exc = _error(tmp_path, "[sources.paste_sites]\nname = 'p'\n")
    assert exc.key == "sources.paste_sites"
    assert "[[sources.paste_sites]]" in exc.problem


# -- rule consistency ------------------------------------------------------------------------

RULE_HEAD = "[[rules]]\nid = 'ok-rule'\nprefix = 'ok_'\ncharset = 'base62'\nlength = 20\n[[rules]]\nid = 'acme-x'\n" \
            "prefix = 'acme_x_'\n"


@pytest.mark.parametrize(("body", "problem"), [
    pytest.param("charset = 'base62'\nlength = 30\nmin_length = 20\nmax_length = 40\n", "either length or",
                 id="length-and-min_length"),
    pytest.param("charset = 'base63'\nlength = 30\n", "unknown charset 'base63'", id="bad-charset"),
    pytest.param("charset = 'hex'\nlength = 30\nchecksum = 'crc32-base62'\n", "contains its checksum characters",
                 id="crc32-with-hex"),
    pytest.param("charset = 'base62'\nlength = 6\nchecksum = 'crc32-base62'\n", "at least 7 characters",
                 id="crc32-too-short"),
    pytest.param("regex = '[a-z]+'\n", "bounded length", id="unbounded-regex"),
    pytest.param("regex = '([a-z]{1,4}){2,8}'\n", "nest quantifiers", id="nested-quantifier"),
    pytest.param("regex = '(?=a)[a-z]{8}'\n", "look-arounds", id="lookahead"),
    pytest.param("regex = '[a-z{8}'\n", "does not compile", id="broken-regex"),
    pytest.param("charset = 'base62'\n", "give length", id="no-length"),
    pytest.param("charset = 'base62'\nmin_length = 40\nmax_length = 20\n", "greater than", id="min-over-max"),
])
def test_rule_consistency_errors_name_the_rule(tmp_path: Path, body: str, problem: str) -> None:
    exc = _error(tmp_path, RULE_HEAD + body)
    assert exc.key == "rules[1]"
    assert problem in exc.problem


def test_bounded_regex_rule_is_accepted(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, RULE_HEAD + "regex = '[0-9]{4}-[A-Za-z0-9]{24}'\n"))
    rules = {r.id: r for r in load_rules(cfg)}
    assert (rules["acme-x"].min_len, rules["acme-x"].max_len) == (29, 29)


@pytest.mark.parametrize("bad_id", ["Acme", "-acme", "acme live"])
def test_rule_id_format(tmp_path: Path, bad_id: str) -> None:
    exc = _error(tmp_path, f"[[rules]]\nid = '{bad_id}'\nprefix = 'acme_'\ncharset = 'base62'\nlength = 20\n")
    assert exc.key == "rules[0].id"


def test_duplicate_rule_ids(tmp_path: Path) -> None:
    one = "[[rules]]\nid = 'acme-live'\nprefix = 'acme_live_'\ncharset = 'base62'\nlength = 36\n"
    exc = _error(tmp_path, one + one)
    assert exc.key == "rules"
    assert "duplicate id 'acme-live'" in exc.problem


def test_builtin_rule_selection(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, "[scanner]\nbuiltin_rules = ['github-pat-classic']\n"))
    assert [r.id for r in load_rules(cfg)] == ["github-pat-classic"]
    exc = _error(tmp_path, "[scanner]\nbuiltin_rules = ['github-pat-clasic']\n")
    assert exc.key == "scanner.builtin_rules"
