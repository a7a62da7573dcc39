"""Crawl throughput: documents per second through the whole pipeline, and the daemon's RSS.

    python bench/throughput.py [--docs 5000] [--soak MINUTES] [--token-every 50]

The real daemon (``python -m crawler run``, SQLite) polls a loopback sandbox every second. Once its
first polls are done, ``--docs`` documents are published in one go across GitHub gists, GitLab
snippets, GitHub push events and an HTML paste site (within what each listing serves per
poll); every ``--token-every``-th holds a live token, so the run also verifies and notifies. The
clock runs from publication until ``leakpatrol_documents_total`` has grown by ``--docs`` (fetch,
scan, store, verify, notify all done). ``--soak`` then keeps publishing a steady stream for that
many minutes and prints the RSS every 30 s. Targets (README): ≥ 500 documents/s, RSS ≤ 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
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
FILLER = "".join(f"line {i}: some configuration value = {i * 7919 % 10007}\n" for i in range(60))  # ~2.5 KB


def _body(sb: Sandbox, n: int, token_every: int, tokens: list[str]) -> str:
    if token_every and n % token_every == 0:
        tok = sb.mint()
        tokens.append(tok)
        return f"# deploy {n}\n{FILLER}API_TOKEN={tok}\n"
    return f"# notes {n}\n{FILLER}"


def publish_round(sb: Sandbox, count: int, start: int, token_every: int, tokens: list[str]) -> int:
    n = start
    for source, share in SHARE.items():
        quota = round(count * share) if source != "github_gists" else count - sum(
            round(count * v) for k, v in SHARE.items() if k != "github_gists")
        for _ in range(quota):
            publish(sb, source, _body(sb, n, token_every, tokens), n)
            n += 1
    return n - start


async def measure(sb: Sandbox, daemon: Daemon, receiver: Receiver, docs: int, token_every: int) -> None:
    base = await daemon.metric("leakpatrol_documents_total")
    tokens: list[str] = []
    published, peak_rss = 0, 0.0
    started = time.monotonic()
    publishing = 0.0
    while published < docs:
        t0 = time.monotonic()
        published += publish_round(sb, min(ROUND, docs - published), published, token_every, tokens)
        publishing += time.monotonic() - t0
        if published < docs:  # wait for this round before the next, so no listing overflows
            await wait_for(lambda t=base + published: _reached(daemon, t), 300, "a round", step=0.25)
    expected = base + published

    async def done() -> bool:
        nonlocal peak_rss
        peak_rss = max(peak_rss, daemon.rss_mb()[0])
        return await daemon.metric("leakpatrol_documents_total") >= expected
    await wait_for(done, 600, "every document", step=0.25)  # /metrics costs the daemon CPU too
    elapsed = time.monotonic() - started
    await wait_for(lambda: all(t in receiver.arrivals for t in tokens), 60, "every token's webhook")
    got = await daemon.metric("leakpatrol_documents_total") - base
    nbytes = await daemon.metric("leakpatrol_document_bytes_total")
    print(f"documents: {published} published, {got:.0f} processed in {elapsed:.2f}s = {published / elapsed:.0f} "
          f"documents/s end to end ({nbytes / elapsed / 1e6:.2f} MB/s scanned); this includes "
          f"{publishing:.2f}s in which the sandbox was busy publishing them and the wait for the next 1 s poll")
    print(f"tokens: {len(tokens)} live planted, {sum(t in receiver.arrivals for t in tokens)} webhooks delivered")
    rss, hwm = daemon.rss_mb()
    print(f"daemon RSS: {rss:.0f} MB now, {max(hwm, peak_rss):.0f} MB peak (VmHWM)")


async def _reached(daemon: Daemon, value: float) -> bool:
    return await daemon.metric("leakpatrol_documents_total") >= value


async def soak(sb: Sandbox, daemon: Daemon, minutes: float, rate: float = 100.0) -> None:
    print(f"soak: {minutes:g} min at ~{rate:.0f} documents/s; RSS every 30 s")
    tokens: list[str] = []
    start, n, next_report = time.monotonic(), 10_000_000, 0.0
    while (elapsed := time.monotonic() - start) < minutes * 60:
        n += publish_round(sb, int(rate / 2), n, 50, tokens)
        if elapsed >= next_report:
            rss, hwm = daemon.rss_mb()
            docs = await daemon.metric("leakpatrol_documents_total")
            print(f"  t={elapsed / 60:5.1f} min  RSS {rss:6.1f} MB  peak {hwm:6.1f} MB  documents {docs:.0f}",
                  flush=True)
            next_report += 30
        await asyncio.sleep(0.5)


async def run(docs: int, soak_minutes: float, token_every: int) -> None:
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
                await measure(sb, daemon, receiver, docs, token_every)
                if soak_minutes:
                    await soak(sb, daemon, soak_minutes)
            finally:
                print(f"daemon exit code {daemon.stop()}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--docs", type=int, default=5000)
    p.add_argument("--soak", type=float, default=0.0, metavar="MINUTES")
    p.add_argument("--token-every", type=int, default=50)
    a = p.parse_args()
    asyncio.run(run(a.docs, a.soak, a.token_every))
    return 0


if __name__ == "__main__":
    sys.exit(main())
