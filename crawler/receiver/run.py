"""``leakpatrol receiver``: the issuer's hook (``--exec CMD`` or ``--handler module:function``), the
partner route's keys (``--github-keys-url``, default GitHub's, or ``--github-keys-file``), the checks
made before listening, and serving :func:`crawler.receiver.app.create_app` until a signal."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import shlex
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from standardwebhooks import Webhook
from starlette.applications import Starlette

from crawler.config.model import check_url
from crawler.kernel.errors import ConfigError, HookFailed
from crawler.kernel.partner import GITHUB_KEYS_URL, LABELS, parse_public_keys
from crawler.kernel.serve import AppServer, parse_listen
from crawler.receiver.app import DEFAULT_STATE, Hook, create_app, event_data, scrub
from crawler.receiver.partner import PATH as PARTNER_PATH
from crawler.receiver.partner import PartnerKeys

logger = logging.getLogger(__name__)

DEFAULT_LISTEN = "127.0.0.1:8787"
EXEC_TIMEOUT = 60.0
TOKEN_ENV = ("LEAKPATROL_TOKEN", "LEAKPATROL_TOKEN_SHA256", "LEAKPATROL_RULE")


def exec_hook(cmd: Sequence[str], *, timeout: float = EXEC_TIMEOUT) -> Hook:
    """A hook that runs ``cmd`` with the event JSON on stdin and ``LEAKPATROL_TOKEN``,
    ``LEAKPATROL_TOKEN_SHA256`` and ``LEAKPATROL_RULE`` in its environment (never in argv).

    A non-zero exit or a run longer than ``timeout`` seconds is a failure. For a partner alert, a
    first line of output ``true_positive`` or ``false_positive`` is the feedback GitHub gets back.
    """
    argv = list(cmd)
    if not argv:
        raise ValueError("the hook command is empty")

    async def run(event: dict[str, Any]) -> str | None:
        data = event_data(event)
        env = {k: v for k, v in os.environ.items() if k not in TOKEN_ENV}
        for name, key in zip(TOKEN_ENV, ("token", "token_sha256", "rule"), strict=True):
            if isinstance(data.get(key), str):
                env[name] = data[key]
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env)
        try:
            said, err = await asyncio.wait_for(proc.communicate(json.dumps(event).encode("utf-8")), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise HookFailed(f"{argv[0]} did not finish within {timeout:g}s") from None
        if proc.returncode != 0:
            tail = scrub(err.decode("utf-8", "replace").strip()[-300:], data.get("token"))
            raise HookFailed(f"{argv[0]} exited with status {proc.returncode}: {tail or '(no stderr)'}")
        first = said[:64].decode("ascii", "replace").strip().split("\n", 1)[0].strip()
        return first if first in LABELS else None

    return run


def import_handler(spec: str) -> Hook:
    """Import ``module:function`` (dotted attributes allowed); the callable may be sync or async."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"{spec!r} is not module:function")
    target: object = importlib.import_module(module_name)
    for part in attr.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"{spec!r} is not callable")
    return cast(Hook, target)


def partner_keys(keys_url: str | None, keys_file: str | Path | None) -> PartnerKeys:
    """``--github-keys-url`` (default GitHub's) or ``--github-keys-file``; raises :class:`ConfigError`."""
    where = "leakpatrol receiver"
    if keys_url is not None and keys_file is not None:
        raise ConfigError("give at most one of --github-keys-url and --github-keys-file", file=where)
    if keys_file is not None:
        path = Path(keys_file)
        try:
            parse_public_keys(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: {exc}", file=where, key="--github-keys-file") from None
        return PartnerKeys(file=path)
    try:
        return PartnerKeys(url=check_url(keys_url or GITHUB_KEYS_URL))
    except ValueError as exc:
        raise ConfigError(str(exc), file=where, key="--github-keys-url") from None


def build_receiver(secret_env: str, exec_cmd: str | Sequence[str] | None, handler: str | None,
                   state: str | Path | None, *, keys_url: str | None = None,
                   keys_file: str | Path | None = None) -> Starlette:
    """Everything ``leakpatrol receiver`` checks before listening; raises :class:`ConfigError`."""
    where = "leakpatrol receiver"
    keys = partner_keys(keys_url, keys_file)
    secret = os.environ.get(secret_env) if secret_env else None
    if not secret:
        raise ConfigError(f"environment variable {secret_env or '(none)'} is not set", file=where,
                          key="--secret-env")
    try:
        Webhook(secret)
    except Exception:  # binascii.Error, EmptyWebhookSecretError: never echo the value
        raise ConfigError(f"{secret_env} is not a whsec_<base64> secret", file=where,
                          key="--secret-env") from None
    if (exec_cmd is None) == (handler is None):
        raise ConfigError("give exactly one of --exec CMD or --handler module:function", file=where)
    if exec_cmd is not None:
        argv = shlex.split(exec_cmd) if isinstance(exec_cmd, str) else list(exec_cmd)
        if not argv or shutil.which(argv[0]) is None:
            missing = argv[0] if argv else "(empty)"
            raise ConfigError(f"command not found: {missing}", file=where, key="--exec")
        hook = exec_hook(argv)
    else:
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())  # like uvicorn's --app-dir: handlers next to the user
        try:
            hook = import_handler(str(handler))
        except (ImportError, AttributeError, ValueError) as exc:
            raise ConfigError(f"cannot import {handler!r}: {exc}", file=where, key="--handler") from None
    return create_app(secret, hook, seen_db=Path(state or DEFAULT_STATE), partner_keys=keys)


def run_receiver(listen: str | None, secret_env: str, exec_cmd: str | Sequence[str] | None,
                 handler: str | None, state: str | Path | None, *, keys_url: str | None = None,
                 keys_file: str | Path | None = None) -> int:
    """``leakpatrol receiver``: 0 after a clean shutdown, 1 if it cannot listen, 2 on usage errors."""
    try:
        host, port = parse_listen(listen or DEFAULT_LISTEN)
    except ValueError as exc:
        logger.error("leakpatrol receiver: --listen: %s", exc)
        return 2
    try:
        app = build_receiver(secret_env, exec_cmd, handler, state, keys_url=keys_url, keys_file=keys_file)
    except ConfigError as exc:
        logger.error("%s", exc)
        return 2
    logger.info("receiver on http://%s:%d/ (replay state: %s); partner alerts on %s (keys: %s)", host, port,
                Path(state or DEFAULT_STATE), PARTNER_PATH, keys_file or keys_url or GITHUB_KEYS_URL)
    async def serve() -> None:
        server = AppServer(app, host, port, handle_signals=True)
        await server.start()
        await server.wait()

    try:
        asyncio.run(serve())
    except OSError as exc:
        logger.error("leakpatrol receiver: cannot listen on %s:%d: %s", host, port, exc.strerror or exc)
        return 1
    except SystemExit as exc:  # uvicorn exits when it cannot start
        return exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        pass
    finally:
        app.state.seen.close()
    return 0
