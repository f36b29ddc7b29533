"""The configuration that decides whom the node trusts, as a journal entry (issue 11,
item 1): the installed anchors, revocation sources and policy, the unsigned-sender
exception list, the node's own certificate, the administrators' tokens (name, role,
hash), the proxies whose forwarded address is believed and the SDK-compatibility
systems. Settings live in a file, outside the database; so that a change to them is
still in the chain auditors verify, the node records them when it starts and they
differ from the last record (`node.trust_settings`, with the digest of the canonical
form)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from axis.settings import Settings

KIND = "node.trust_settings"


def trust_settings(settings: Settings, *, anchors: Iterable[str],
                   node_certificate: str) -> dict[str, object]:
    """The trust-relevant part of the settings, JSON-ready and order-independent."""
    t, v = settings.trust, settings.vdxp
    return {
        "anchors": sorted(anchors),
        "node_certificate": node_certificate,
        "allow_sha1": t.allow_sha1,
        "require_crl": t.require_crl,
        "crl_files": sorted(str(p) for p in t.crl_files),
        "crl_urls": sorted(t.crl_urls),
        "crl_max_age_hours": t.crl_max_age_hours,
        "admit_unsigned": sorted(t.admit_unsigned),
        "admin_tokens": sorted(({"name": a.name, "role": a.role, "hash": a.hash}
                                for a in settings.admin.tokens),
                               key=lambda a: (a["name"], a["hash"])),
        "trusted_proxies": sorted(str(n) for n in settings.rest.trusted_proxies),
        "vdxp": {"enabled": v.enabled, "signed_required": sorted(v.signed_required),
                 "systems": sorted(({"system_id": s.system_id, "peer": s.peer,
                                     "addresses": sorted(str(a) for a in s.addresses),
                                     "client_cert_fingerprints":
                                         sorted(s.client_cert_fingerprints),
                                     "timestamp_window_minutes": s.timestamp_window_minutes}
                                    for s in v.systems),
                                   key=lambda s: str(s["system_id"]))},
    }


def digest(record: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True, ensure_ascii=False,
                                     separators=(",", ":")).encode()).hexdigest()
