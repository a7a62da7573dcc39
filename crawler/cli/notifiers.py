"""``leakpatrol notifiers``: each configured notifier's state, and ``notifiers enable ID`` to bring
back one its endpoint disabled (410 Gone). Re-enabling puts the deliveries the endpoint turned away
back in the queue, due now; a running daemon picks the notifier up within seconds."""

from __future__ import annotations

import argparse

from crawler.cli.common import EXIT_OK, EXIT_USAGE, err, listed, load, out
from crawler.kernel.clock import iso


def cmd_notifiers(args: argparse.Namespace) -> int:
    from crawler.store.runtime import open_runtime

    cfg = load(getattr(args, "enable_config", None) or args.config)
    configured = {nc.id: nc.kind for nc in cfg.notifiers}
    store = open_runtime(cfg, create_key=False)
    try:
        if getattr(args, "notifiers_command", None) == "enable":
            return _enable(store, args.id, configured)
        states = store.notifier_states()
        pending = store.count_pending_by_notifier()
    finally:
        store.close()
    rows = [{"id": nid, "kind": kind, "state": "disabled" if nid in states else "enabled",
             "disabled_at": iso(states[nid].disabled_at) if nid in states else None,
             "reason": states[nid].reason if nid in states else None,
             "pending_deliveries": pending.get(nid, 0)} for nid, kind in configured.items()]
    if listed(rows, "notifiers", args.format, "no notifiers configured"):
        return EXIT_OK
    out(f"{'ID':<24} {'KIND':<14} {'STATE':<9} {'PENDING':>7}  REASON")
    for r in rows:
        why = f"{r['reason']} (since {r['disabled_at']})" if r["state"] == "disabled" else "-"
        out(f"{r['id']:<24} {r['kind']:<14} {r['state']:<9} {r['pending_deliveries']:>7}  {why}")
    return EXIT_OK


def _enable(store: object, notifier: str, configured: dict[str, str]) -> int:
    from crawler.store.database import Store

    assert isinstance(store, Store)
    if notifier not in configured:
        err(f"leakpatrol: error: no notifier {notifier!r} in the config (have: {', '.join(configured) or 'none'})")
        return EXIT_USAGE
    resumed = store.enable_notifier(notifier)
    if resumed is None:
        out(f"notifier {notifier} is not disabled; nothing to do")
    else:
        out(f"notifier {notifier} re-enabled; {resumed} deliveries resume (a running daemon picks it up "
            f"within seconds)")
    return EXIT_OK
