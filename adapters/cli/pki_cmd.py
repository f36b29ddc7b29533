"""`axis pki ...`: test CA, agency certificates, signing and verifying packages.

    axis pki init DIR                      DIR/ca.pem, DIR/ca.key (a test CA)
    axis pki issue DIR AGENCY_ID           DIR/AGENCY_ID.pem, .key (UID=AGENCY:AGENCY_ID)
    axis pki sign --key K --cert C FILE [-o OUT]
    axis pki verify --trust PEM [--trust PEM ...] FILE...   one JSON line per file

For tests, the demo and agencies trying the node; production trust comes from the
government CA certificates installed in trust.anchors_dir.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from axis.clock import SystemClock, as_vietnam
from axis.errors import AxisError
from axis.settings import Settings
from axis.trust import pki
from axis.trust.algorithms import Profile
from axis.trust.bindings import FingerprintBindings, default_bindings
from axis.trust.chain import TrustAnchors
from axis.trust.crl import CrlStore
from axis.trust.sign import NodeSigner
from axis.trust.verdict import State, fingerprint
from axis.trust.verify import Verifier


def register(sub: Any) -> None:
    p = sub.add_parser("pki", help="test PKI: CA, certificates, sign and verify packages")
    psub = p.add_subparsers(dest="pki_command", required=True)

    init = psub.add_parser("init", help="create a test CA: DIR/ca.pem and DIR/ca.key")
    init.add_argument("dir", metavar="DIR")
    init.add_argument("--name", default="Axis Test CA", help="the CA's common name")
    init.set_defaults(handler=run_init)

    issue = psub.add_parser("issue", help="issue DIR/AGENCY_ID.pem and .key from DIR's CA")
    issue.add_argument("dir", metavar="DIR")
    issue.add_argument("agency_id", metavar="AGENCY_ID")
    issue.add_argument("--days", type=int, default=365)
    issue.set_defaults(handler=run_issue)

    sign = psub.add_parser("sign", help="sign an edXML package (enveloped, RSA-SHA256)")
    sign.add_argument("--key", required=True, type=Path, help="private key (PEM)")
    sign.add_argument("--cert", required=True, type=Path,
                      help="certificate (PEM; intermediates may follow it)")
    sign.add_argument("file", metavar="FILE", type=Path)
    sign.add_argument("-o", "--output", type=Path, help="output file (default: stdout)")
    sign.set_defaults(handler=run_sign)

    verify = psub.add_parser("verify", help="verify packages: one JSON line per file")
    verify.add_argument("--trust", action="append", type=Path, metavar="PEM",
                        help="trust anchor(s); default: the configured trust.anchors_dir")
    verify.add_argument("--crl", action="append", type=Path, default=[], metavar="FILE")
    verify.add_argument("--bind", action="append", default=[], metavar="FINGERPRINT=AGENCY",
                        help="bind a certificate (SHA-256 fingerprint) to an agency")
    verify.add_argument("--allow-sha1", action="store_true",
                        help="accept the legacy RSA-SHA1 profile (or trust.allow_sha1)")
    verify.add_argument("--at", help="verification time, ISO 8601 (default: now)")
    verify.add_argument("files", nargs="+", metavar="FILE", type=Path)
    verify.set_defaults(handler=run_verify)


def _now() -> datetime:
    return SystemClock().now()


def run_init(args: argparse.Namespace, settings: Settings) -> int:
    pair = pki.init_ca(Path(args.dir), _now(), name=args.name)
    print(json.dumps({"cert": str(pair.cert_path), "key": str(pair.key_path)}))
    return 0


def run_issue(args: argparse.Namespace, settings: Settings) -> int:
    pair = pki.issue(Path(args.dir), args.agency_id, _now(), days=args.days)
    cert = pki.load_certs(pair.cert_path)[0]
    print(json.dumps({"cert": str(pair.cert_path), "key": str(pair.key_path),
                      "agency": args.agency_id, "fingerprint": fingerprint(cert),
                      "subject": cert.subject.rfc4514_string()}))
    return 0


def run_sign(args: argparse.Namespace, settings: Settings) -> int:
    signer = NodeSigner.from_files(args.key, args.cert, limits=settings.edxml)
    try:
        raw = args.file.read_bytes()
    except OSError as exc:
        print(f"axis pki sign: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    signed = signer.sign(raw)
    if args.output:
        args.output.write_bytes(signed)
    else:
        sys.stdout.buffer.write(signed)
        sys.stdout.flush()
    return 0


def build_verifier(args: argparse.Namespace, settings: Settings, at: datetime) -> Verifier:
    anchors = (TrustAnchors.from_files(args.trust) if args.trust
               else TrustAnchors.from_dir(settings.trust.anchors_dir))
    crls = None
    if args.crl:
        crls = CrlStore(anchors, max_age=timedelta(hours=settings.trust.crl_max_age_hours),
                        require_crl=settings.trust.require_crl)
        for path in args.crl:
            crls.add_file(path, at)
    fingerprints = FingerprintBindings()
    for item in args.bind:
        fp, _, agency = item.partition("=")
        fingerprints.bind(fp.strip(), agency.strip())
    return Verifier(
        profile=Profile(allow_sha1=args.allow_sha1 or settings.trust.allow_sha1),
        anchors=anchors, bindings=default_bindings(fingerprints), crls=crls,
        limits=settings.edxml,
    )


def run_verify(args: argparse.Namespace, settings: Settings) -> int:
    at = as_vietnam(datetime.fromisoformat(args.at)) if args.at else _now()
    verifier = build_verifier(args, settings, at)
    all_verified = True
    for path in args.files:
        out: dict[str, Any] = {"file": str(path)}
        try:
            verdict = verifier.verify(path.read_bytes(), at)
            out |= verdict.as_dict()
            ok = verdict.state is State.VERIFIED
        except OSError as exc:
            out |= {"signature": None, "code": None, "reason": f"unreadable: {exc.strerror}",
                    "signer": None}
            ok = False
        except AxisError as exc:  # not an edXML package at all
            out |= {"signature": State.INVALID.value, "code": exc.code.id,
                    "reason": exc.detail or exc.code.en, "signer": None}
            ok = False
        all_verified &= ok
        print(json.dumps(out, ensure_ascii=False), flush=True)
    return 0 if all_verified else 1
