"""``leakpatrol demo``: the whole loop on loopback, with no credentials and no network.

A sandbox (the fakes of the registered sources, :data:`sources.fakes.FAKES`, and a token issuer)
and the reference receiver run in this process; the real daemon polls the sandbox every second. Minted tokens are
planted at random moments over ~30 s: live ones, revoked ones and decoys with a broken checksum.
The receiver's hook revokes each token it is told about, so the daemon's re-check then records it
as revoked. The same tokens also go through the secret-scanning partner format: a partner-protocol
notifier posts them, signed with the deployment key, to the receiver's partner route, which verifies
them with the keys the daemon publishes on its own server and answers with feedback.
At the end: a summary (planted, caught, revoked, partner alerts, latency per source) and the report.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.demo.sandbox import Sandbox
from crawler.detect.rules import load_rules
from crawler.engine.logs import scrub_with
from crawler.engine.pipeline import Engine
from crawler.kernel.partner import KEYS_PATH
from crawler.kernel.partner import KIND as PARTNER_KIND
from crawler.kernel.serve import AppServer
from crawler.plugins import load_config
from crawler.receiver.app import create_app
from crawler.receiver.partner import PATH as PARTNER_PATH
from crawler.receiver.partner import PartnerKeys
from sources.fakes import demo_kinds, polled_kinds

SOURCES = demo_kinds()
"""The sources planted into and polled, in turn: every registered one quick enough for a 1 s demo."""
POLLED = polled_kinds()
"""…plus those polled alongside them, reading what they publish (an archive of the same pushes)."""
SECRET_ENV = "LEAKPATROL_DEMO_WEBHOOK_SECRET"


@dataclass
class Plant:
    kind: str  # live | revoked | decoy
    source: str
    token: str = field(repr=False)
    published_at: float = 0.0
    delivered_at: float | None = None


@dataclass
class DemoState:
    plants: list[Plant] = field(default_factory=list)
    arrivals: dict[str, float] = field(default_factory=dict)  # token sha256 → arrival time (signed webhook)
    partner: dict[str, float] = field(default_factory=dict)  # token sha256 → arrival time (partner alert)
    keys_url: str = ""
    engine: Engine | None = None
    names: dict[str, str] = field(default_factory=dict)  # kind → the daemon's name for it (metric label)


def _decoy(token: str) -> str:
    """Same token with its last checksum character changed: discarded offline, never verified."""
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


async def plant(sb: Sandbox, state: DemoState, seconds: float, rng: random.Random) -> None:
    """Live, revoked and decoy tokens across the sources at random moments."""
    kinds = ["live"] * 10 + ["revoked"] * 3 + ["decoy"] * 3
    rng.shuffle(kinds)
    moments = sorted(rng.uniform(1.0, seconds) for _ in kinds)
    start = time.monotonic()
    turn = dict.fromkeys(("live", "revoked", "decoy"), 0)
    for kind, at in zip(kinds, moments, strict=True):
        await asyncio.sleep(max(0.0, at - (time.monotonic() - start)))
        source = SOURCES[turn[kind] % len(SOURCES)]  # every source gets each kind in turn
        turn[kind] += 1
        token = sb.mint(live=kind == "live")
        shown = _decoy(token) if kind == "decoy" else token
        body = f"# deploy settings\nAPI_URL=https://api.example.invalid\nDEMO_TOKEN={shown}\n"
        published = sb.publish_to(source, body, rng.randint(0, 99), org="demo-org").published_at
        state.plants.append(Plant(kind, source, shown, published))


def _receiver_hook(sb: Sandbox, state: DemoState) -> Any:
    def hook(event: dict[str, Any]) -> str | None:
        data = event.get("data", {})
        partner = data.get("source") == PARTNER_KIND
        (state.partner if partner else state.arrivals).setdefault(str(data.get("token_sha256")), time.time())
        token = data.get("token")
        if isinstance(token, str):
            sb.issuer.revoke(token)  # the issuer's revocation service at work
        return "true_positive" if partner else None  # partner feedback: yes, one of ours
    return hook


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _write_config(sb: Sandbox, folder: Path, receiver_url: str, listen: str) -> Path:
    path = folder / "leakpatrol.toml"
    text = sb.config_toml(receiver_url, SECRET_ENV, folder / "data", "1s", sources=POLLED, listen=listen,
                          partner_url=receiver_url + PARTNER_PATH.lstrip("/"))
    text += '\n[verification]\nrecheck = "3s"\nunknown_retry = "2s"\n'
    path.write_text(text, encoding="utf-8")
    return path


async def run_demo(folder: Path, *, plant_seconds: float = 30.0, grace: float = 20.0, view: Any = None,
                   seed: int | None = None) -> tuple[DemoState, list[Path]]:
    """Run the demo; returns what was planted/delivered and the report files written."""
    from crawler.engine.scheduler import run_daemon
    from crawler.report.compute import Period
    from crawler.report.render import write_report

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    state = DemoState()
    async with Sandbox(poll_interval=1.0) as sb:
        state.names = {kind: sb.source_name(kind) for kind in SOURCES}
        os.environ.update(sb.environment())
        os.environ[SECRET_ENV] = "whsec_" + base64.b64encode(os.urandom(24)).decode()
        (folder / "data").mkdir(exist_ok=True)
        listen = f"127.0.0.1:{_free_port()}"  # the daemon's own server: /healthz, /metrics and its keys
        state.keys_url = f"http://{listen}{KEYS_PATH}"
        receiver = AppServer(create_app(os.environ[SECRET_ENV], _receiver_hook(sb, state),
                                        seen_db=folder / "data" / "receiver.db",
                                        partner_keys=PartnerKeys(url=state.keys_url)))
        cfg = load_config(_write_config(sb, folder, await receiver.start() + "/", listen))
        scrub_with(load_rules(cfg))
        stop = asyncio.Event()
        daemon = asyncio.create_task(run_daemon(cfg, stop, ready=lambda e: setattr(state, "engine", e)))
        planter = asyncio.create_task(plant(sb, state, plant_seconds, rng))
        refresh = asyncio.create_task(_refresh(view, state)) if view is not None else None
        await planter
        await _wait_delivered(state, grace)
        await _wait_revoked(state, 10.0)  # the re-check sees what the issuer revoked
        paths = _report(state, cfg, folder, Period, write_report)
        stop.set()
        await daemon
        if refresh is not None:
            refresh.cancel()
        await receiver.stop()
    return state, paths


def _report(state: DemoState, cfg: Any, folder: Path, period_cls: Any, write: Any) -> list[Path]:
    from crawler.kernel.clock import utcnow

    assert state.engine is not None
    now = utcnow()
    paths: list[Path] = write(state.engine.store, period_cls.since(86400, now), now, folder, ["html", "md", "json"])
    return paths


async def _wait_delivered(state: DemoState, grace: float) -> None:
    from crawler.detect.redaction import fingerprint

    deadline = time.monotonic() + grace
    live = [p for p in state.plants if p.kind == "live"]
    while time.monotonic() < deadline:
        if all(fingerprint(p.token) in state.arrivals and fingerprint(p.token) in state.partner for p in live):
            return
        await asyncio.sleep(0.2)


async def _wait_revoked(state: DemoState, grace: float) -> None:
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and state.engine is not None:
        notified = set(state.arrivals)
        revoked = {t.fingerprint for t in state.engine.store.tokens(status=["inactive"]) if t.revoked_at}
        if notified <= revoked:
            return
        await asyncio.sleep(0.25)


async def _refresh(view: Any, state: DemoState) -> None:
    while True:
        view(state)
        await asyncio.sleep(0.25)
