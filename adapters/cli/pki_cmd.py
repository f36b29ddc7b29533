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

from cryptography import x509

from axis.clock import SystemClock, as_vietnam
from axis.errors import AxisError
from axis.packaged import DEFAULT_ANCHORS_DIR
from axis.settings import Settings
from axis.trust import pki
from axis.trust.algorithms import Profile
from axis.trust.bindings import FingerprintBindings, default_bindings, named_agencies
from axis.trust.chain import TrustAnchors, load_certificates
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
    sign.add_argument("file", metavar="FILE", help="the package (`-`: standard input)")
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

    anchor = psub.add_parser(
        "install-anchor", help="copy a CA certificate into trust.anchors_dir (never a key)")
    anchor.add_argument("cert", metavar="PEM", type=Path, help="the CA certificate")
    anchor.add_argument("--dir", type=Path, metavar="DIR",
                        help="default: the configured trust.anchors_dir")
    anchor.set_defaults(handler=run_install_anchor)


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


def warn_if_not_sender(cert_path: Path, sender: str, prog: str) -> None:
    """The node refuses a signature by a certificate that does not speak for From/OrganId
    (trust.signer_not_sender): say so now, while it is cheap to fix. Only a warning: an
    administrator may have bound the certificate's fingerprint to the sender."""
    named = named_agencies(pki.load_certs(cert_path)[0])
    if named and sender not in named:
        print(f"{prog}: warning: the certificate speaks for {', '.join(sorted(named))}, the "
              f"package is From {sender}: the node will refuse it (trust.signer_not_sender) "
              "unless the certificate is bound to the sender", file=sys.stderr)


def _sender_of(raw: bytes, settings: Settings) -> str | None:
    from axis.edxml.validate import Validator

    package = Validator(settings.edxml).check(raw).package
    return package.sender_id if package else None


def run_sign(args: argparse.Namespace, settings: Settings) -> int:
    signer = NodeSigner.from_files(args.key, args.cert, limits=settings.edxml)
    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        print(f"axis pki sign: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    signed = signer.sign(raw)
    sender = _sender_of(raw, settings)
    if sender:
        warn_if_not_sender(args.cert, sender, "axis pki sign")
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


def run_install_anchor(args: argparse.Namespace, settings: Settings) -> int:
    """Write a CA certificate (PEM or DER; never a key) where the node reads its anchors,
    named by its fingerprint so that installing it twice changes nothing. The node reads
    its anchors once at start-up: a running node must be restarted."""
    prog = "axis pki install-anchor"
    try:
        data = args.cert.read_bytes()
    except OSError as exc:
        print(f"{prog}: cannot read {args.cert}: {exc.strerror}", file=sys.stderr)
        return 2
    if b"PRIVATE KEY" in data:
        print(f"{prog}: {args.cert} holds a private key: install the CA certificate only "
              "(ca.pem, never ca.key)", file=sys.stderr)
        return 2
    certs = load_certificates(args.cert)  # node.config_invalid (exit 1) when unreadable
    for cert in certs:
        if not _is_ca(cert):
            print(f"{prog}: {args.cert}: {cert.subject.rfc4514_string()} is not a CA "
                  "certificate: install the CA that issued it", file=sys.stderr)
            return 2
    directory: Path = args.dir or settings.trust.anchors_dir
    if directory.resolve() == DEFAULT_ANCHORS_DIR.resolve():
        # The packaged directory is part of the installed software (replaced on upgrade,
        # shared by every node on the machine): anchors are the operator's own.
        print(f"{prog}: trust.anchors_dir is the packaged default ({directory}), which "
              "holds no anchor: give --dir DIR and start the node with "
              "AXIS_TRUST__ANCHORS_DIR=DIR (or trust.anchors_dir in its settings file)",
              file=sys.stderr)
        return 2
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"anchor-{fingerprint(certs[0])[:16]}.pem"
    existed = target.is_file()
    pki.write_cert(target, *certs)  # PEM, the certificates only
    print(json.dumps({"anchor": str(target), "subject": certs[0].subject.rfc4514_string(),
                      "fingerprint": fingerprint(certs[0]), "already_installed": existed},
                     ensure_ascii=False))
    print(f"{prog}: (re)start the node to trust it: anchors are read at start-up",
          file=sys.stderr)
    return 0


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        # Government CAs are not WebPKI (the anchors README): a root without
        # basicConstraints still counts as a CA when it is self-issued.
        return cert.issuer == cert.subject
