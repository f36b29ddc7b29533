"""`axis peer add|list|show|status|resend|enable|disable|poll|sync|units|register|
unregister|snapshot`: the peer nodes this node forwards to and polls (issue 10; the same as
/admin/v1/peers). `status` exits 1 when a peer has been unreachable longer than its
bound, so a monitoring check can call it; `units` exits 1 when a registry sync conflict
is open."""

from __future__ import annotations

import argparse
import getpass
import json
from typing import Any

from axis.clock import iso
from axis.federation.model import PeerKind
from axis.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("peer", help="peer nodes: the national axis, other provinces")
    s = p.add_subparsers(dest="peer_command", required=True)
    c = s.add_parser("add", help="register a peer node")
    c.add_argument("name", help="the name agencies' served_by gives (national, h40 …)")
    c.add_argument("--kind", choices=[k.value for k in PeerKind], default="vdxp")
    c.add_argument("--endpoint", required=True, help="the protocol's base URL")
    c.add_argument("--system-id", required=True, help="this node's system id at the peer")
    c.add_argument("--secret-file", required=True,
                   help="file holding the shared secret (read at each call)")
    c.add_argument("--admit-unsigned", action="append", default=[], metavar="SENDER",
                   help="a sender whose unsigned packages this peer may bring ('*': any);"
                        " repeatable; every admission is journaled")
    c.add_argument("--node-cert", action="append", default=[], metavar="SHA256",
                   help="fingerprint of the peer node's signing certificate: it may sign "
                        "for the agencies the peer serves (its 01s); repeatable")
    c.add_argument("--province", action="append", default=[], metavar="CODE",
                   help="a level-1 group (H41, G22) whose agencies this peer serves even "
                        "when the registry does not list them; repeatable")
    c.add_argument("--unreachable-after", type=int, default=900, metavar="SECONDS",
                   help="/readyz degraded when failing this long (default 900)")
    c.add_argument("--note", default="")
    c.add_argument("--actor")
    c.set_defaults(handler=run_add)
    c = s.add_parser("list", help="the registered peers")
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=run_list)
    for name, handler, help_ in (("show", run_show, "one peer with its backlog"),):
        c = s.add_parser(name, help=help_)
        c.add_argument("name")
        c.set_defaults(handler=handler)
    c = s.add_parser("status", help="every peer: backlog, oldest waiting, attempts, last "
                                    "success (exit 1 when one is unreachable)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=run_status)
    c = s.add_parser("resend", help="a peer's dead letters back in its queue")
    c.add_argument("name")
    c.add_argument("delivery_ids", nargs="*", metavar="DELIVERY_ID",
                   help="default: all of the peer's dead letters")
    c.add_argument("--reason", required=True)
    c.add_argument("--actor")
    c.set_defaults(handler=run_resend)
    for name, active in (("enable", True), ("disable", False)):
        c = s.add_parser(name, help=f"{name} forwarding to and polling from a peer")
        c.add_argument("name")
        c.add_argument("--actor")
        c.set_defaults(handler=run_active, active=active)
    c = s.add_parser("secret", help="the secret another Axis node uses to call this "
                                    "node's /vdxp/ as SYSTEM_ID (list it in vdxp.systems "
                                    "with peer = its name); shown once, derived, not stored")
    c.add_argument("system_id", metavar="SYSTEM_ID")
    c.set_defaults(handler=run_secret)
    c = s.add_parser("reconcile", help="check the copies forwarded to a vdxp peer "
                                       "against its getSentEdocList (what the scheduler "
                                       "does hourly); exit 1 when one is missing")
    c.add_argument("name")
    c.set_defaults(handler=run_reconcile)
    c = s.add_parser("poll", help="poll the peers once now (what the scheduler does)")
    c.set_defaults(handler=run_poll)
    c = s.add_parser("sync", help="read the peer's registry into ours now (what the "
                                  "scheduler does every federation.registry_sync_hours)")
    c.add_argument("name")
    c.set_defaults(handler=run_sync)
    c = s.add_parser("snapshot", help="take an Axis peer's signed registry snapshot now "
                                      "(verified, imported as agencies it serves; what "
                                      "the scheduler does every federation.snapshot_hours);"
                                      " --export: print this node's own")
    c.add_argument("name", nargs="?", help="the Axis peer")
    c.add_argument("--export", action="store_true",
                   help="print this node's signed snapshot (JSON) and its SHA-256")
    c.add_argument("--held", action="store_true",
                   help="show the snapshot held from the peer, fetch nothing")
    c.set_defaults(handler=run_snapshot)
    c = s.add_parser("units", help="the units last seen from a peer, with the open "
                                   "conflicts (exit 1 when there is one)")
    c.add_argument("name")
    c.add_argument("--conflicts", action="store_true",
                   help="only the conflicts (resolved ones too)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=run_units)
    for name, handler, help_ in (
            ("register", run_register, "register one of this node's agencies with the "
                                       "peer as served by this node (registerAgency)"),
            ("unregister", run_unregister, "withdraw that registration (deleteAgency)")):
        c = s.add_parser(name, help=help_)
        c.add_argument("name")
        c.add_argument("agency_id", metavar="AGENCY_ID")
        c.add_argument("--reason", required=True)
        c.add_argument("--actor")
        c.set_defaults(handler=handler)


def _actor(args: argparse.Namespace) -> str:
    if getattr(args, "actor", None):
        return str(args.actor)
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _node(settings: Settings) -> Any:
    from adapters.node import build_node

    return build_node(settings)


def run_add(args: argparse.Namespace, settings: Settings) -> int:
    node = _node(settings)
    try:
        peer = node.peer_admin.add(
            name=args.name, kind=PeerKind(args.kind), endpoint=args.endpoint,
            system_id=args.system_id, secret_file=args.secret_file,
            admit_unsigned=args.admit_unsigned, node_certificates=args.node_cert,
            provinces=args.province,
            unreachable_after_s=args.unreachable_after,
            note=args.note, actor=_actor(args))
    finally:
        node.close()
    print(f"added peer {peer.name} ({peer.kind.value}) at {peer.endpoint}")
    return 0


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    node = _node(settings)
    try:
        peers = node.peer_admin.list()
    finally:
        node.close()
    if args.json:
        print(json.dumps([p.public() for p in peers], ensure_ascii=False))
        return 0
    for p in peers:
        state = "active" if p.active else "disabled"
        print(f"{p.name:<12} {p.kind.value:<5} {state:<8} {p.endpoint}")
    return 0


def run_show(args: argparse.Namespace, settings: Settings) -> int:
    node = _node(settings)
    try:
        view = node.peer_admin.show(args.name)
    finally:
        node.close()
    print(json.dumps(view.public(), ensure_ascii=False, indent=2))
    return 0


def run_status(args: argparse.Namespace, settings: Settings) -> int:
    node = _node(settings)
    try:
        views = node.peer_admin.status()
    finally:
        node.close()
    if args.json:
        print(json.dumps([v.public() for v in views], ensure_ascii=False))
    else:
        print("peer          waiting  oldest waiting                    attempts  dead  "
              "last success")
        for v in views:
            b = v.backlog
            oldest = iso(b.oldest_waiting_at) if b.oldest_waiting_at else "-"
            last = iso(v.peer.last_success_at) if v.peer.last_success_at else "never"
            flag = "  UNREACHABLE" if v.unreachable else ""
            print(f"{v.peer.name:<12} {b.waiting:>8}  {oldest:<32}  {b.attempts:>8}  "
                  f"{b.dead_letters:>4}  {last}{flag}")
    return 1 if any(v.unreachable for v in views) else 0


def run_resend(args: argparse.Namespace, settings: Settings) -> int:
    node = _node(settings)
    try:
        resent = node.peer_admin.resend(args.name, args.delivery_ids, actor=_actor(args),
                                        reason=args.reason)
    finally:
        node.close()
    print(json.dumps({"peer": args.name, "resent": resent}))
    return 0


def run_active(args: argparse.Namespace, settings: Settings) -> int:
    node = _node(settings)
    try:
        peer = node.peer_admin.set_active(args.name, args.active, actor=_actor(args))
    finally:
        node.close()
    print(f"peer {peer.name}: {'enabled' if peer.active else 'disabled'}")
    return 0


def run_secret(args: argparse.Namespace, settings: Settings) -> int:
    from axis.auth import keys, signing

    secret = signing.derive_secret(keys.master_key(settings), args.system_id)
    print(f"secret for {args.system_id} (give it to the peer node's administrator, for "
          f"its peer's secret file): {secret}")
    return 0


def run_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from axis.federation.sent import SentReconciler

    node = _node(settings)
    try:
        report = SentReconciler(
            exchange=node.exchange, peers=node.peers, link=node.peer_link,
            agencies=node.registry.list, clock=node.exchange.clock,
        ).reconcile(node.peer_admin.get(args.name))
    finally:
        node.close()
    print(json.dumps(report.public(), ensure_ascii=False))
    return 1 if report.missing or report.undeliverable else 0


def run_poll(args: argparse.Namespace, settings: Settings) -> int:
    node = _node(settings)
    try:
        report = node.intake.poll_all()
    finally:
        node.close()
    print(json.dumps({"accepted": report.accepted, "duplicates": report.duplicates,
                      "refused": report.refused,
                      "acknowledged_again": report.acknowledged_again,
                      "failed_peers": list(report.failed_peers)}))
    return 1 if report.failed_peers else 0


def run_sync(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.federation.sync_setup import registry_sync_for

    node = _node(settings)
    try:
        report = registry_sync_for(node).sync(args.name)
    finally:
        node.close()
    print(json.dumps(report.public(), ensure_ascii=False))
    return 0


def run_snapshot(args: argparse.Namespace, settings: Settings) -> int:
    import sys

    from adapters.federation.snapshot_http import Publisher, snapshots_for

    if args.export == bool(args.name):
        print("axis peer snapshot: give either a peer's NAME or --export", file=sys.stderr)
        return 2
    node = _node(settings)
    try:
        if args.export:
            signed = Publisher(node).current()
            print(json.dumps(signed.as_json(), ensure_ascii=False))
            print(f"sha256 {signed.sha256}", file=sys.stderr)
            return 0
        snapshots = snapshots_for(node)
        if args.held:
            held = snapshots.held(args.name)
            print(json.dumps(held.public() if held else {"peer": args.name, "held": None},
                             ensure_ascii=False))
            return 0
        report = snapshots.pull(args.name)
    finally:
        node.close()
    print(json.dumps(report.public(), ensure_ascii=False))
    h = report.held
    print(f"peer {h.peer}: snapshot version {h.version}, {h.agencies} agencies, "
          f"sha256 {h.sha256} (compare it with the peer's `axis peer snapshot --export`)")
    return 1 if report.sync.conflicts else 0


def run_units(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.federation.sync_setup import registry_sync_for

    node = _node(settings)
    try:
        sync = registry_sync_for(node)
        units = [] if args.conflicts else sync.units(args.name)
        conflicts = sync.conflicts(args.name, open_only=not args.conflicts)
    finally:
        node.close()
    if args.json:
        print(json.dumps({"peer": args.name, "units": [u.public() for u in units],
                          "conflicts": [c.public() for c in conflicts]},
                         ensure_ascii=False))
    else:
        for u in units:
            gone = " deleted" if u.deleted else ""
            print(f"{u.code:<24} {u.center:<6} v{u.version:<8} {u.outcome.value:<9}"
                  f"{gone} {u.name}")
        for c in conflicts:
            state = f"resolved {iso(c.resolved_at)}" if c.resolved_at else "OPEN"
            print(f"CONFLICT {c.code:<24} {c.kind.value:<13} {state}  first "
                  f"{iso(c.first_seen)} last {iso(c.last_seen)}  {c.detail}")
    return 1 if any(c.resolved_at is None for c in conflicts) else 0


def run_register(args: argparse.Namespace, settings: Settings) -> int:
    return _registration(args, settings, register=True)


def run_unregister(args: argparse.Namespace, settings: Settings) -> int:
    return _registration(args, settings, register=False)


def _registration(args: argparse.Namespace, settings: Settings, *, register: bool) -> int:
    from adapters.federation.sync_setup import registry_sync_for

    node = _node(settings)
    try:
        sync = registry_sync_for(node)
        call = sync.register if register else sync.unregister
        reg = call(args.name, args.agency_id, actor=_actor(args), reason=args.reason)
    finally:
        node.close()
    print(json.dumps(reg.public(), ensure_ascii=False))
    return 0
