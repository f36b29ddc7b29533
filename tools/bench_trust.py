"""Benchmark: signature verifications per second (not a test; prints a JSON report).

    python tools/bench_trust.py [--seconds 3] [--revoked 5000] [--report FILE]

One thread (one core). Packages: `edoc-2019-small.edxml` (the "5 KB" case) and
`edoc-new.edxml` (360 KB), re-signed here with a fresh test PKI (root → intermediate →
agency; RSA-2048, RSA-SHA256, exclusive C14N, the leaf certificate in KeyInfo). Each
verification is the whole trust stage on bytes: hardened parse, structure, chain,
revocation, signxml, binding to the signed sender; the verdict carries the signed tree.

Scenarios:
- `bound`: the agency's certificate has been seen before: its parsed form and its chain
  (issuer signature checks) are cached; no CRL configured. The steady state.
- `bound_crl`: the same, plus a revocation lookup in CRLs of the intermediate (with
  `--revoked` entries) and of the root.
- `chain_crl`: the caches are emptied before every verification: certificate parsing and
  chain building (signature checks up to the root) every time, plus the CRL lookups.

Breakdown (where the time goes): `parse_only` is the hardened parse alone, `signxml_only`
signxml's verification alone on an already parsed tree with the certificate given.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.serialization import Encoding  # noqa: E402
from lxml import etree  # noqa: E402

from axis.clock import VN_TZ  # noqa: E402
from axis.edxml import reader, safexml  # noqa: E402
from axis.settings import EdxmlSettings  # noqa: E402
from axis.trust import pki, structure  # noqa: E402
from axis.trust.algorithms import Profile  # noqa: E402
from axis.trust.chain import TrustAnchors  # noqa: E402
from axis.trust.crl import CrlStore  # noqa: E402
from axis.trust.sign import NodeSigner  # noqa: E402
from axis.trust.verdict import State  # noqa: E402
from axis.trust.verify import Verifier, sender_of  # noqa: E402


def header_of(root: etree._Element) -> etree._Element:
    return reader.envelope_parts(root)[0]


FIXTURES = ROOT.parent / "shared" / "fixtures" / "edxml"
AT = datetime(2026, 6, 1, 9, 0, tzinfo=VN_TZ)


class Pki:
    def __init__(self, revoked: int) -> None:
        self.root_key, self.inter_key, self.leaf_key = (pki.new_key() for _ in range(3))
        self.root = pki.self_signed(self.root_key, pki.subject("Bench Root"), AT, ca=True)
        self.inter = pki.issue_cert(self.root_key, self.root, pki.subject("Bench CA"),
                                    self.inter_key.public_key(), AT, ca=True, days=3000)
        self.revoked = revoked

    def signer_for(self, raw: bytes) -> NodeSigner:
        sender = sender_of(safexml.parse(raw, EdxmlSettings()))
        cert = pki.issue_cert(self.inter_key, self.inter,
                              pki.subject("Bench agency", agency_id=sender),
                              self.leaf_key.public_key(), AT)
        return NodeSigner(self.leaf_key, cert)

    def crls(self, anchors: TrustAnchors) -> CrlStore:
        store = CrlStore(anchors, max_age=timedelta(hours=48))
        entries = [(10_000_000 + i, AT - timedelta(days=1)) for i in range(self.revoked)]
        store.add(pki.make_crl(self.inter_key, self.inter, entries, AT - timedelta(hours=1))
                  .public_bytes(Encoding.DER), "inter.crl", AT)
        store.add(pki.make_crl(self.root_key, self.root, [], AT - timedelta(hours=1))
                  .public_bytes(Encoding.DER), "root.crl", AT)
        return store


def rate(fn: Callable[[], object], seconds: float) -> dict[str, float]:
    fn()  # warm up (and fill the caches for the bound scenarios)
    n = 0
    wall, cpu = time.perf_counter(), time.process_time()
    deadline = wall + seconds
    while time.perf_counter() < deadline:
        for _ in range(10):
            fn()
        n += 10
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"verifications": n, "seconds": round(wall, 3),
            "per_second": round(n / wall, 1), "per_cpu_second": round(n / cpu, 1),
            "microseconds_each": round(wall / n * 1e6, 1)}


def bench(p: Pki, name: str, seconds: float) -> dict[str, object]:
    raw = p.signer_for((FIXTURES / name).read_bytes()).sign((FIXTURES / name).read_bytes())
    anchors = TrustAnchors([p.root, p.inter])
    plain = Verifier(profile=Profile(), anchors=anchors)
    with_crl = Verifier(profile=Profile(), anchors=anchors, crls=p.crls(anchors))
    assert plain.verify(raw, AT).state is State.VERIFIED
    assert with_crl.verify(raw, AT).state is State.VERIFIED

    def cold() -> object:
        with_crl.chains._paths.clear()  # first sight of this certificate, every time
        with_crl._certs.clear()
        return with_crl.verify(raw, AT)

    limits = EdxmlSettings()
    tree = safexml.parse(raw, limits)
    leaf = with_crl._leaf(structure.check(tree, header_of(tree), plain.profile).certificates)
    return {
        "fixture": name, "bytes": len(raw),
        "parse_only": rate(lambda: safexml.parse(raw, limits), seconds / 2),
        "signxml_only": rate(lambda: plain._verify_signature(tree, leaf.cert, AT), seconds / 2),
        "bound": rate(lambda: plain.verify(raw, AT), seconds),
        "bound_crl": rate(lambda: with_crl.verify(raw, AT), seconds),
        "chain_crl": rate(cold, seconds),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--revoked", type=int, default=5000, help="entries in the CA's CRL")
    ap.add_argument("--report", help="also write the JSON report to this file")
    args = ap.parse_args()
    p = Pki(args.revoked)
    results = {
        "machine": {"python": platform.python_version(),
                    "cpu": platform.processor() or platform.machine(), "cores_used": 1},
        "crl_entries": args.revoked,
        "small": bench(p, "edoc-2019-small.edxml", args.seconds),
        "medium": bench(p, "edoc-new.edxml", args.seconds),
    }
    text = json.dumps(results, indent=2)
    if args.report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(text + "\n")
    print(text)
    for size in ("small", "medium"):
        r = results[size]
        assert isinstance(r, dict)
        print(f"{r['fixture']:>24} {r['bytes']:>7} B: " + "  ".join(
            f"{k} {r[k]['per_second']:>7}/s"
            for k in ("bound", "bound_crl", "chain_crl", "parse_only", "signxml_only")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
