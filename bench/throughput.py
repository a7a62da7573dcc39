"""Crawl throughput: documents per second through the whole pipeline, and the daemon's RSS.

    python bench/throughput.py [--docs 5000] [--soak MINUTES] [--token-every 50] [--json FILE]

The real daemon (``python -m crawler run``, SQLite) polls a loopback sandbox every second. Once its
first polls are done, ``--docs`` documents are published in one go across GitHub gists, GitLab
snippets, GitHub push events and an HTML paste site (within what each listing serves per
poll); every ``--token-every``-th holds a live token, so the run also verifies and notifies. The
documents are real files of varied sizes and contents: the Python sources installed on this
machine (as ``bench/scan.py`` uses; files over 512 KB, or that already hold a match, left out),
each with one minted token on a random line when it is a token's turn. The clock runs from the
first publication until both ``leakpatrol_documents_total`` has grown by ``--docs`` and the last
expected webhook has been accepted by the reference receiver (fetch, scan, store, verify and
notify all included); documents/s, MB/s (bytes published) and webhooks/s are over that time.
``--soak`` then keeps publishing a steady stream for that many minutes and prints the RSS every
30 s. Targets (README): ≥ 500 documents/s, RSS ≤ 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SOURCES, Daemon, Receiver, machine, publish, wait_for
from crawler.demo.sandbox import Sandbox

SHARE = {"github_gists": 0.55, "gitlab_snippets": 0.38, "github_events": 0.05, "paste_sites": 0.008}
"""Fraction of a round per source; a round stays within what each listing serves in one poll (gists
3000, snippets 2000, events 300, the paste site's archive page 50). Pastebin is left out: its
scraping API asks for one item request per second, which leakpatrol honours (``item_delay``)."""
ROUND = 5000
MAX_FILE = 512 * 1024


class Documents:
    """Real files, cycled: installed Python sources in a seeded order, without existing matches."""

    def __init__(self, seed: int = 1) -> None:
        from bench.scan import rule_set, source_files
        from crawler.detect.scanner import Scanner

        self.rng = random.Random(seed)
        self.files = [f for f in source_files(random.Random(seed)) if f.stat().st_size <= MAX_FILE]
        self.checker = Scanner(rule_set(0), use_hyperscan=False)
        self.texts: list[str] = []
        self.at = 0
        self.bytes = 0

    def next_text(self) -> str:
        while len(self.texts) <= self.at and self.files:
            raw = self.files.pop()
            if raw.stat().st_size and not self.checker.scan(data := raw.read_bytes()):
                self.texts.append(data.decode("utf-8", "replace"))
        text = self.texts[self.at % len(self.texts)]
        self.at += 1
        return text

    def body(self, sb: Sandbox, n: int, token_every: int, tokens: list[str]) -> str:
        text = self.next_text()
        if token_every and n % token_every == 0:
            tok = sb.mint()
            tokens.append(tok)
            lines = text.split("\n")
            lines.insert(self.rng.randrange(len(lines) + 1), f"API_TOKEN = {tok!r}")
            text = "\n".join(lines)
        self.bytes += len(text.encode())
        return text


def publish_round(sb: Sandbox, docs: Documents, count: int, start: int, token_every: int,
                  tokens: list[str]) -> int:
    n = start
    for source, share in SHARE.items():
        quota = round(count * share) if source != "github_gists" else count - sum(
            round(count * v) for k, v in SHARE.items() if k != "github_gists")
        for _ in range(quota):
            publish(sb, source, docs.body(sb, n, token_every, tokens), n)
            n += 1
    return n - start


async def measure(sb: Sandbox, daemon: Daemon, receiver: Receiver, docs: int, token_every: int,
                  json_path: str | None) -> None:
    base = await daemon.metric("leakpatrol_documents_total")
    source = Documents()
    for _ in range(docs):  # read and filter the files before the clock starts
        source.next_text()
    source.at = 0
    tokens: list[str] = []
    published, peak_rss = 0, 0.0
    started_wall, started = time.time(), time.monotonic()
    publishing = 0.0
    while published < docs:
        t0 = time.monotonic()
        published += publish_round(sb, source, min(ROUND, docs - published), published, token_every, tokens)
        publishing += time.monotonic() - t0
        if published < docs:  # wait for this round before the next, so no listing overflows
            await wait_for(lambda t=base + published: _reached(daemon, t), 300, "a round", step=0.25)
    expected = base + published

    async def done() -> bool:
        nonlocal peak_rss
        peak_rss = max(peak_rss, daemon.rss_mb()[0])
        return await daemon.metric("leakpatrol_documents_total") >= expected
    await wait_for(done, 600, "every document", step=0.25)  # /metrics costs the daemon CPU too
    documents_done = time.monotonic()
    await wait_for(lambda: all(t in receiver.arrivals for t in tokens), 120, "every token's webhook", step=0.02)
    delivered = [receiver.arrivals[t] for t in tokens if t in receiver.arrivals]
    last_webhook = started + (max(delivered) - started_wall) if delivered else documents_done
    elapsed = max(documents_done, last_webhook) - started
    got = await daemon.metric("leakpatrol_documents_total") - base
    mb = source.bytes / 1e6
    print(f"documents: {published} real files published ({mb:.1f} MB, mean {source.bytes // max(1, published)} bytes), "
          f"{got:.0f} processed; clock {elapsed:.2f}s from the first publication to the last document processed "
          f"and the last webhook accepted ({publishing:.2f}s of it the sandbox publishing, plus the wait for the "
          f"next 1 s poll)")
    print(f"rate: {published / elapsed:.0f} documents/s, {mb / elapsed:.2f} MB/s, "
          f"{len(delivered) / elapsed:.1f} webhooks/s")
    print(f"tokens: {len(tokens)} live planted, {len(delivered)} webhooks delivered")
    rss, hwm = daemon.rss_mb()
    print(f"daemon RSS: {rss:.0f} MB now, {max(hwm, peak_rss):.0f} MB peak (VmHWM)")
    if json_path:
        Path(json_path).write_text(json.dumps({"figures": [{
            "figure": "Crawl throughput, whole pipeline, SQLite",
            "value": f"{published / elapsed:.0f} documents/s, {mb / elapsed:.2f} MB/s, "
                     f"{len(delivered) / elapsed:.1f} webhooks/s; peak RSS {max(hwm, peak_rss):.0f} MB",
            "measures": "first publication → every document processed and the last webhook accepted "
                        "(fetch, scan, store, verify, notify); the sandbox shares the 2 cores",
            "input": f"{published} real files ({mb:.1f} MB), a live token in every {token_every}th",
            "n": f"1 run, {len(delivered)}/{len(tokens)} webhooks",
            "command": f"python bench/throughput.py --docs {docs}"}]}, indent=2), encoding="utf-8")


async def _reached(daemon: Daemon, value: float) -> bool:
    return await daemon.metric("leakpatrol_documents_total") >= value


async def soak(sb: Sandbox, daemon: Daemon, minutes: float, rate: float = 100.0) -> None:
    print(f"soak: {minutes:g} min at ~{rate:.0f} documents/s; RSS every 30 s")
    tokens: list[str] = []
    docs = Documents(seed=2)
    start, n, next_report = time.monotonic(), 10_000_000, 0.0
    while (elapsed := time.monotonic() - start) < minutes * 60:
        n += publish_round(sb, docs, int(rate / 2), n, 50, tokens)
        if elapsed >= next_report:
            rss, hwm = daemon.rss_mb()
            docs = await daemon.metric("leakpatrol_documents_total")
            print(f"  t={elapsed / 60:5.1f} min  RSS {rss:6.1f} MB  peak {hwm:6.1f} MB  documents {docs:.0f}",
                  flush=True)
            next_report += 30
        await asyncio.sleep(0.5)


async def run(docs: int, soak_minutes: float, token_every: int, json_path: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="lp-throughput-") as tmp:
        folder = Path(tmp)
        unlimited = {"github": {"rate_limit": 10**8}, "gitlab": {"rate_limit": 10**8}}
        async with Sandbox(poll_interval=1.0, max_items=20_000, options=unlimited) as sb, \
                Receiver(folder) as receiver:
            daemon = Daemon(sb, receiver, folder, "1s").start()
            try:
                await daemon.ready(len(SOURCES))
                print("leakpatrol bench/throughput.py: whole pipeline (fetch, scan, store, verify, notify), SQLite")
                print(machine())
                await measure(sb, daemon, receiver, docs, token_every, json_path)
                if soak_minutes:
                    await soak(sb, daemon, soak_minutes)
            finally:
                print(f"daemon exit code {daemon.stop()}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--docs", type=int, default=5000)
    p.add_argument("--soak", type=float, default=0.0, metavar="MINUTES")
    p.add_argument("--token-every", type=int, default=50)
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON (for bench/all.py)")
    a = p.parse_args()
    asyncio.run(run(a.docs, a.soak, a.token_every, a.json))
    return 0


if __name__ == "__main__":
    sys.exit(main())
