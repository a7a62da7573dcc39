"""Opening the store for the daemon-side commands, with the key rules of DESIGN.md: ``run`` and
``crawl`` create a missing key file only while the store holds no token. The deployment's signing key
(``github_partner`` alerts) is made when missing at any time (:func:`open_signing_key`): a new signing
key loses nothing, receivers fetch its public half from ``/meta/public_keys/secret_scanning``."""

from __future__ import annotations

import logging
from pathlib import Path

from crawler.config.model import Config
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
    return store


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
