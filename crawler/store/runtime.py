"""Opening the store for the daemon-side commands, with the key rules of DESIGN.md: ``run`` and
``crawl`` create a missing key file only while the store holds no token. The deployment's signing key
(``github_partner`` alerts) is made when missing at any time (:func:`open_signing_key`): a new signing
key loses nothing, receivers fetch its public half from ``/meta/public_keys/secret_scanning``."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

from crawler.config.model import Config, secret
from crawler.kernel.errors import EncryptionKeyError
from crawler.kernel.partner import DeploymentKey
from crawler.store.crypto import load_cipher
from crawler.store.database import Store

logger = logging.getLogger(__name__)


def open_runtime(cfg: Config, *, create_key: bool) -> Store:
    url = cfg.database_url()
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    store = Store(url, None)
    store.migrate()
    has_tokens = store.has_tokens()
    try:
        store.cipher = load_cipher(cfg, create=create_key and not has_tokens)
    except EncryptionKeyError as exc:
        if has_tokens:
            raise EncryptionKeyError(f"{exc.problem}; the store holds tokens, so the original key is required"
                                     ) from None
        raise
    store.check_key()
    warn_loose_permissions(cfg)
    return store


def loose_permissions(cfg: Config) -> list[str]:
    """What a start warns about: a key file readable by group or others, a data folder anyone may
    write to (whoever can write there can swap the database or the key)."""
    problems: list[str] = []
    keys = [] if secret(cfg.storage.key_env) else [cfg.resolve_path(cfg.storage.key_file)]
    if not secret(cfg.storage.signing_key_env):
        keys.append(cfg.resolve_path(cfg.storage.signing_key_file))
    folders: set[Path] = {k.parent for k in keys}
    url = cfg.database_url()
    if url.startswith("sqlite:///"):
        folders.add(Path(url[len("sqlite:///"):]).parent)
    for key in keys:
        try:
            mode = key.stat().st_mode
        except OSError:
            continue
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            problems.append(f"key file {key} is readable by group or others (mode {stat.S_IMODE(mode):04o}); "
                            f"chmod 600 it")
    for folder in sorted(folders):
        try:
            mode = folder.stat().st_mode
        except OSError:
            continue
        if mode & stat.S_IWOTH:
            problems.append(f"data folder {folder} is world-writable (mode {stat.S_IMODE(mode):04o}); "
                            f"chmod o-w it")
    return problems


def warn_loose_permissions(cfg: Config) -> None:
    for problem in loose_permissions(cfg):
        logger.warning("%s", problem)


def deployment_key(cfg: Config) -> DeploymentKey:
    """Where the deployment's signing key lives (``[storage] signing_key_env`` / ``signing_key_file``)."""
    return DeploymentKey(cfg.storage.signing_key_env, cfg.resolve_path(cfg.storage.signing_key_file))


def open_signing_key(cfg: Config) -> DeploymentKey:
    """Create the signing key file if it is missing (0600, one log line). Whether it loads is each
    signing notifier's ``missing_credentials`` (a bad key disables it with a line naming the file)."""
    key = deployment_key(cfg)
    if key.create_if_missing():
        logger.warning("created a new signing key file %s (mode 0600) for github_partner alerts; its public "
                       "half is served at /meta/public_keys/secret_scanning", key.path)
    return key
