"""Opening the store for the daemon-side commands, with the key rules of DESIGN.md:
``run`` and ``crawl`` create a missing key file only while the store holds no token."""

from __future__ import annotations

from pathlib import Path

from crawler.config.model import Config
from crawler.kernel.errors import EncryptionKeyError
from crawler.store.crypto import load_cipher
from crawler.store.database import Store


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
