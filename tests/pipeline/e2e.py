"""Loopback pieces for the crawl end-to-end tests: the reference receiver in a thread (recording the
raw requests), a receiver that accepts and never answers, and ``python -m crawler crawl`` as a
subprocess against a sandbox config."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crawler.config.model import RuleConfig
from crawler.demo.sandbox import Sandbox
from crawler.detect.mint import mint
from crawler.detect.rules import compile_rule
from crawler.kernel.serve import ServerThread
from crawler.receiver.app import create_app

SECRET_ENV = "LP_E2E_WEBHOOK_SECRET"
OTHER_RULE = compile_rule(RuleConfig(id="demo-other", prefix="demo_other_", charset="base62", length=36,
                                     checksum="crc32-base62", verifier="demo-whoami"))
ROOT = Path(__file__).resolve().parents[2]


def free_socket(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def free_port() -> int:
    with free_socket() as sock:
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def event(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


class Recording:
    """ASGI middleware keeping each request's raw body and headers, and the status answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests: list[Received] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        status = [0]

        async def recv() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        async def snd(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        await self.app(scope, recv, snd)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        self.requests.append(Received(headers, b"".join(chunks), status[0]))


class ReceiverThread:
    """The reference receiver (``create_app``) served by uvicorn on a loopback port in a thread."""

    def __init__(self, secret: str, seen_db: Path, port: int = 0) -> None:
        self.events: list[dict[str, Any]] = []
        self.app = Recording(create_app(secret, self._hook, seen_db=seen_db))
        if not port:
            with free_socket(0) as sock:
                port = sock.getsockname()[1]
        self.port = port
        self.url = f"http://127.0.0.1:{self.port}/leakpatrol"
        self.server = ServerThread(self.app, "127.0.0.1", self.port)  # type: ignore[arg-type]

    async def _hook(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def __enter__(self) -> ReceiverThread:
        self.server.start(20)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop(10)


@dataclass
class HungReceiver:
    """Accepts connections, reads the request, and never answers."""

    sock: socket.socket = field(default_factory=free_socket)
    heads: list[bytes] = field(default_factory=list)
    conns: list[socket.socket] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/leakpatrol"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            conn.settimeout(10)
            data = b""
            with contextlib.suppress(OSError):
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            self.heads.append(data)

    def webhook_ids(self) -> list[str]:
        ids = []
        for head in list(self.heads):
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"webhook-id":
                    ids.append(value.strip().decode())
        return ids

    def __enter__(self) -> HungReceiver:
        self.sock.listen(16)
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


@dataclass
class Deployment:
    """A sandbox config in ``folder`` and ``crawl`` runs against it."""

    sb: Sandbox
    folder: Path
    secret: str
    receiver_url: str
    sources: tuple[str, ...] = ("github_gists", "pastebin")
    notifier_extra: str = ""
    outputs: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.write(self.receiver_url)

    @property
    def config(self) -> Path:
        return self.folder / "leakpatrol.toml"

    @property
    def db(self) -> Path:
        return self.folder / "data" / "leakpatrol.db"

    def write(self, receiver_url: str) -> None:
        text = self.sb.config_toml(receiver_url, SECRET_ENV, self.folder / "data", "1s", sources=self.sources,
                                   builtin_rules=False)
        text = text.replace('rules = ["demo-live"]\n',
                            'rules = ["demo-live", "demo-other"]\n' + self.notifier_extra, 1)
        whoami = json.dumps(self.sb.issuer.whoami_url)
        text += ("\n[[rules]]\nid = \"demo-other\"\nprefix = \"demo_other_\"\ncharset = \"base62\"\nlength = 36\n"
                 "checksum = \"crc32-base62\"\nverifier = \"demo-whoami\"\n\n"
                 f"[[verifiers]]\nid = \"demo-whoami\"\nkind = \"http\"\nurl = {whoami}\n"
                 "headers = { Authorization = \"Bearer {token}\" }\n")
        (self.folder / "data").mkdir(parents=True, exist_ok=True)
        self.config.write_text(text, encoding="utf-8")

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("LEAKPATROL") and k not in ("GITHUB_TOKEN", "GITLAB_TOKEN")}
        env.update(self.sb.environment())
        env[SECRET_ENV] = self.secret
        env["PYTHONPATH"] = str(ROOT)
        return env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "crawler", "-v", *args, "-c", str(self.config)]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(self.command(*args), env=self.env(), capture_output=True, text=True, timeout=90,
                              cwd=self.folder, check=False)
        self.outputs += [proc.stdout, proc.stderr]
        return proc

    def crawl(self) -> subprocess.CompletedProcess[str]:
        proc = self.run("crawl")
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc

    def popen_crawl(self) -> subprocess.Popen[str]:
        return subprocess.Popen(self.command("crawl"), env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=self.folder)

    def exposures(self) -> list[dict[str, Any]]:
        proc = self.run("exposures", "--format", "json")
        assert proc.returncode == 0, proc.stderr[-3000:]
        rows: list[dict[str, Any]] = json.loads(proc.stdout)["exposures"]
        return rows


def mint_other(sb: Sandbox) -> str:
    """A ``demo-other`` token, live at the issuer, whose verifier (``whoami``) answers 503."""
    token = mint(OTHER_RULE)
    sb.issuer.add_live(token)
    return token


def broken(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def wait_for(predicate: Any, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
