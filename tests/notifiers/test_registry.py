"""The notifier registry is explicit: every channel module is registered under its module name."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import crawler.notifiers as package
from crawler.kernel.errors import ConfigError
from crawler.notifiers import NOTIFIERS
from crawler.notifiers.base import Notifier
from crawler.notifiers.webhook import WebhookOptions
from crawler.plugins import build_config


def test_every_module_is_registered_under_its_name() -> None:
    modules = {m.name for m in pkgutil.iter_modules(package.__path__)} - {"base"}
    assert modules == set(NOTIFIERS)
    for name in modules:
        module = importlib.import_module(f"crawler.notifiers.{name}")
        cls = NOTIFIERS[name]
        assert issubclass(cls, Notifier) and cls.__module__ == module.__name__ and cls.kind == name
        assert cls.__doc__


def test_config_validates_notifier_options() -> None:
    good = {"notifiers": [{"id": "a", "kind": "webhook", "url": "https://hooks.acme.example/x",
                           "secret_env": "S", "max_backoff": "10m", "give_up_after": "72h"},
                          {"id": "b", "kind": "chat", "url_env": "C", "on": ["live", "unknown"]}]}
    cfg = build_config(good)
    assert [n.kind for n in cfg.notifiers] == ["webhook", "chat"]
    opts = WebhookOptions.model_validate(cfg.notifiers[0].extras())
    assert opts.max_backoff == 600.0 and opts.give_up_after == 72 * 3600.0 and opts.send_token
    with pytest.raises(ConfigError, match="https"):
        build_config({"notifiers": [{"id": "a", "kind": "webhook", "url": "http://hooks.acme.example/x",
                                     "secret_env": "S"}]})
    with pytest.raises(ConfigError, match="did you mean 'send_token'"):
        build_config({"notifiers": [{"id": "a", "kind": "webhook", "url": "https://h.example/x",
                                     "secret_env": "S", "send_tokens": False}]})
