"""Console sessions: a login with an administrator token, mapped to a signed cookie.

The console has no accounts of its own (Art. 22: one account per person, never shared):
a person logs in with their administrator token (`axis admin token`) and states the
purpose of the session (an inspection's reference, a ticket), which every access made in
the session is journaled with (axis/journal/access.py). The cookie holds the token's
hash, name, role, purpose and expiry, signed with a key derived from the node's master
key; on every request the hash must still be one of `admin.tokens` with the same role, so
a token removed from the settings ends its sessions at the next start.

The cookie is HttpOnly and SameSite=Strict; forms carry a CSRF value derived from the
session (a page of another site can neither read it nor send the cookie).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from axis.auth.roles import Administrator
from axis.settings import AdminToken

COOKIE = "axis_console"
LIFETIME = timedelta(hours=8)  # a working day: a forgotten browser does not stay logged in
MAX_PURPOSE = 200


@dataclass(frozen=True, slots=True)
class Session:
    who: Administrator
    token_hash: str
    purpose: str
    expires: datetime

    @property
    def csrf(self) -> str:
        return hashlib.sha256(f"csrf\n{self.token_hash}\n{self.expires.isoformat()}"
                              .encode()).hexdigest()[:32]


class SessionKey:
    def __init__(self, master_key: bytes) -> None:
        self._key = hmac.new(master_key, b"axis console session v1", hashlib.sha256).digest()

    def _mac(self, body: bytes) -> str:
        return hmac.new(self._key, body, hashlib.sha256).hexdigest()

    def issue(self, session: Session) -> str:
        body = base64.urlsafe_b64encode(json.dumps({
            "n": session.who.name, "r": session.who.role, "h": session.token_hash,
            "p": session.purpose, "e": session.expires.isoformat()},
            ensure_ascii=True, separators=(",", ":")).encode())
        return f"{body.decode()}.{self._mac(body)}"

    def read(self, cookie: str, tokens: Sequence[AdminToken], now: datetime) -> Session | None:
        """The session a cookie carries; None when forged, expired, or its token is gone."""
        body, _, mac = cookie.partition(".")
        if not body or not hmac.compare_digest(self._mac(body.encode()), mac):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body.encode()))
            expires = datetime.fromisoformat(data["e"])
            session = Session(Administrator(str(data["n"]), str(data["r"])), str(data["h"]),
                              str(data["p"]), expires)
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        if expires <= now:
            return None
        if not any(hmac.compare_digest(t.hash, session.token_hash) and t.role == session.who.role
                   and t.name == session.who.name for t in tokens):
            return None
        return session
