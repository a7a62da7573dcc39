"""What GitHub's partner protocol costs: ECDSA P-256 sign and verify per alert, and the reference
receiver's ``POST /github/secret-scanning`` on loopback (signature checked, the hook run, feedback
answered).

* ``sign`` / ``verify``: :meth:`SigningKeys.sign` (what the ``github_partner`` notifier does per
  token) and :func:`crawler.kernel.partner.verify` (what the receiver does per request), over a
  one-alert body, ``--n`` times each; microseconds per call.
* ``route``: one uvicorn server (the receiver app, keys from a file, a hook that answers
  ``true_positive``) and one client on the same loop, ``--requests`` sequential signed POSTs of one
  alert each; per-request latency (p50/p90/p99 with the sample size) and requests/s. Every answer
  must be 200 with one feedback entry, or the script exits 1.

    python bench/partner.py [--n 2000] [--requests 1000] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import machine, percentile
from crawler.config.model import RuleConfig
from crawler.detect.mint import mint
from crawler.detect.rules import compile_rule
from crawler.kernel.partner import generate_pem, parse_signing_keys, verify
from crawler.kernel.serve import AppServer
from crawler.receiver.app import create_app
from crawler.receiver.partner import PATH, PartnerKeys

RULE = compile_rule(RuleConfig(id="acme-live", prefix="acme_live_", charset="base62", length=36,
                               checksum="crc32-base62"))


def body_for(token: str) -> bytes:
    alert = {"token": token, "type": "acme-live", "url": "https://gist.github.com/someone/abc123",
             "source": "github_gists"}
    return json.dumps([alert], separators=(",", ":")).encode()


def crypto(n: int) -> tuple[float, float]:
    keys = parse_signing_keys(generate_pem(), "bench")
    public = keys.keys[0].public_key()
    bodies = [body_for(mint(RULE)) for _ in range(n)]
    start = time.perf_counter()
    signed = [keys.sign(b) for b in bodies]
    sign_us = (time.perf_counter() - start) / n * 1e6
    start = time.perf_counter()
    ok = sum(verify(public, b, h["Github-Public-Key-Signature"]) for b, h in zip(bodies, signed, strict=True))
    verify_us = (time.perf_counter() - start) / n * 1e6
    if ok != n:
        sys.exit(f"only {ok}/{n} signatures verified")
    print(f"sign     {sign_us:7.1f} µs per alert (n={n})")
    print(f"verify   {verify_us:7.1f} µs per alert (n={n})")
    return sign_us, verify_us


async def route(requests: int) -> dict[str, float]:
    keys = parse_signing_keys(generate_pem(), "bench")
    with tempfile.TemporaryDirectory(prefix="lp-bench-partner-") as tmp:
        doc = Path(tmp) / "keys.json"
        doc.write_text(json.dumps(keys.document()))

        async def hook(event: dict[str, Any]) -> str:
            return "true_positive"

        app = create_app("whsec_" + "A" * 32, hook, seen_db=Path(tmp) / "seen.db", partner_keys=PartnerKeys(file=doc))
        async with AppServer(app) as server, httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            bodies = [body_for(mint(RULE)) for _ in range(requests + 20)]
            for body in bodies[:20]:  # warm-up: connection, first key load
                await client.post(PATH, content=body, headers=keys.sign(body))
            times: list[float] = []
            start = time.perf_counter()
            for body in bodies[20:]:
                t0 = time.perf_counter()
                resp = await client.post(PATH, content=body, headers={"content-type": "application/json",
                                                                      **keys.sign(body)})
                times.append((time.perf_counter() - t0) * 1000)
                if resp.status_code != 200 or len(resp.json()) != 1:
                    sys.exit(f"unexpected answer {resp.status_code}: {resp.text[:200]}")
            wall = time.perf_counter() - start
    n = len(times)
    p99 = f"{percentile(times, 99):.2f}" if n >= 100 else "-"
    print(f"route    {n / wall:7.0f} requests/s sequential; latency ms (n={n}): p50 {percentile(times, 50):.2f}  "
          f"p90 {percentile(times, 90):.2f}  p99 {p99}  mean {statistics.fmean(times):.2f}  max {max(times):.2f}")
    print("         (each request: the client signs, the receiver verifies, runs the hook and answers feedback)")
    return {"rate": n / wall, "p50": percentile(times, 50), "p99": percentile(times, 99), "n": n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON (for bench/all.py)")
    args = parser.parse_args()
    print(machine())
    sign_us, verify_us = crypto(args.n)
    r = asyncio.run(route(args.requests))
    if args.json:
        command = f"python bench/partner.py --n {args.n} --requests {args.requests}"
        p99 = f", p99 {r['p99']:.2f} ms" if r["n"] >= 100 else ""
        Path(args.json).write_text(json.dumps({"figures": [
            {"figure": "GitHub partner alert: ECDSA P-256 sign / verify",
             "value": f"{sign_us:.1f} µs / {verify_us:.1f} µs per alert",
             "measures": "the github_partner notifier signing one alert; the receiver verifying it (cryptography)",
             "input": "one-alert JSON bodies with minted tokens", "n": f"{args.n} calls each", "command": command},
            {"figure": "Receiver partner route on loopback",
             "value": f"{r['rate']:.0f} requests/s sequential; p50 {r['p50']:.2f} ms{p99}",
             "measures": "signed POST /github/secret-scanning → verify, hook, feedback answer; client and "
                         "server on one loop",
             "input": "one alert per request, keys from a file", "n": f"{r['n']:.0f} requests",
             "command": command}]}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
