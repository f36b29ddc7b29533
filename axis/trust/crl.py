"""Revocation: CRLs from configured files and URLs, with the age of the last refresh.

Policy, kept simple and explicit:

- A CRL is used only if its signature verifies with an installed certificate whose subject
  is the CRL's issuer. One CRL is kept per issuer: the latest thisUpdate (for the same
  list from two sources, the later refresh).
- A certificate listed in its issuer's CRL with a revocation date at or before the time of
  receipt is refused: `trust.certificate_revoked`.
- A CRL is fresh while it was (re)loaded less than `crl_max_age_hours` ago AND its own
  nextUpdate has not passed. When the issuer has a CRL but it is stale, the node cannot
  tell and fails closed with `trust.revocation_unknown` (the node's fault: the sender may
  retry, the operator is alerted by the refresh job's report).
- An issuer with no CRL at all: accepted with `revocation: unchecked` in the verdict,
  unless `trust.require_crl` is on, then `trust.revocation_unknown`.

URLs are fetched by `fetch_crl` (http/https only, a timeout, a size bound) into a cache
under `data_dir/trust/crl/`, so a restart works offline with the last good copy. The job
that calls `CrlRefresher.run` on a schedule belongs to the server; nothing here starts a
thread.
"""

from __future__ import annotations

import hashlib
import os
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from cryptography import x509

from axis import errors
from axis.errors import Finding
from axis.trust.chain import Chain, TrustAnchors
from axis.trust.verdict import Revocation

MAX_CRL_BYTES = 64 * 1024 * 1024
FETCH_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True, slots=True)
class LoadedCrl:
    crl: x509.CertificateRevocationList
    source: str  # file path or URL
    refreshed_at: datetime
    # serial → revocation date, indexed once: a CA's list has thousands of entries and
    # cryptography's lookup by serial walks them.
    revoked: dict[int, datetime] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, crl: x509.CertificateRevocationList, source: str, at: datetime) -> LoadedCrl:
        return cls(crl, source, at, {r.serial_number: r.revocation_date_utc for r in crl})

    @property
    def issuer_key(self) -> bytes:
        return self.crl.issuer.public_bytes()


@dataclass(slots=True)
class RefreshReport:
    """What one refresh did; `problems` are node-side findings for the log and alerting."""

    loaded: list[str] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)


class CrlStore:
    """CRLs by issuer; replaced atomically on refresh; safe to read from many threads."""

    def __init__(
        self, anchors: TrustAnchors, *, max_age: timedelta, require_crl: bool = False
    ) -> None:
        self.anchors = anchors
        self.max_age = max_age
        self.require_crl = require_crl
        self._by_issuer: dict[bytes, LoadedCrl] = {}
        self._lock = threading.Lock()

    # --- loading ------------------------------------------------------------------------
    def add(self, data: bytes, source: str, refreshed_at: datetime) -> LoadedCrl:
        """Parse (DER or PEM), check the issuer's signature, keep the newest per issuer."""
        crl = _parse(data, source)
        issuer = self._signer_of(crl)
        if issuer is None:
            raise errors.REVOCATION_UNKNOWN.error(
                f"CRL {source}: no installed certificate of {crl.issuer.rfc4514_string()} "
                "verifies its signature"
            )
        loaded = LoadedCrl.of(crl, source, refreshed_at)
        with self._lock:
            old = self._by_issuer.get(loaded.issuer_key)
            if old is None or _newer(loaded, old):
                self._by_issuer[loaded.issuer_key] = loaded
            # else: an older list (or the same one, refreshed earlier) than ours: keep ours.
        return loaded

    def add_file(self, path: Path, refreshed_at: datetime) -> LoadedCrl:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise errors.REVOCATION_UNKNOWN.error(f"CRL {path}: {exc.strerror}") from exc
        return self.add(data, str(path), refreshed_at)

    def _signer_of(self, crl: x509.CertificateRevocationList) -> x509.Certificate | None:
        wanted = crl.issuer.public_bytes()
        for cert in self.anchors.certs:
            if cert.subject.public_bytes() != wanted:
                continue
            try:
                if crl.is_signature_valid(cert.public_key()):  # type: ignore[arg-type]
                    return cert
            except (TypeError, ValueError):  # a key type that cannot sign CRLs
                continue
        return None

    # --- reading ------------------------------------------------------------------------
    def ages(self, at: datetime) -> dict[str, timedelta]:
        """Age of the last refresh of each CRL, by source: shown on the health endpoint."""
        return {c.source: at - c.refreshed_at for c in self._by_issuer.values()}

    def stale(self, at: datetime) -> dict[str, str]:
        """Each CRL that is not fresh at `at` (the source → why): while one is listed, its
        issuer's signatures are refused with `trust.revocation_unknown` (readiness)."""
        out: dict[str, str] = {}
        for loaded in list(self._by_issuer.values()):
            try:
                self._require_fresh(loaded, at)
            except errors.AxisError as exc:
                out[loaded.source] = exc.detail
        return out

    def check(self, chain: Chain, at: datetime) -> Revocation:
        """`GOOD`/`UNCHECKED` for the chain, or `certificate_revoked`/`revocation_unknown`."""
        state = Revocation.GOOD
        for cert, issuer in chain.pairs():
            loaded = self._by_issuer.get(issuer.subject.public_bytes())
            if loaded is None:
                if self.require_crl:
                    raise errors.REVOCATION_UNKNOWN.error(
                        f"no CRL for issuer {issuer.subject.rfc4514_string()}"
                    )
                state = Revocation.UNCHECKED
                continue
            self._require_fresh(loaded, at)
            revoked_on = loaded.revoked.get(cert.serial_number)
            if revoked_on is not None and revoked_on <= at:
                who = "signer" if cert is chain.leaf else cert.subject.rfc4514_string()
                raise errors.CERTIFICATE_REVOKED.error(
                    f"{who} (serial {cert.serial_number:x}) revoked "
                    f"{revoked_on.isoformat()} ({loaded.source})"
                )
        return state

    def _require_fresh(self, loaded: LoadedCrl, at: datetime) -> None:
        age = at - loaded.refreshed_at
        if age > self.max_age:
            raise errors.REVOCATION_UNKNOWN.error(
                f"CRL {loaded.source} last refreshed {age} ago (limit {self.max_age})"
            )
        next_update = loaded.crl.next_update_utc
        if next_update is not None and at > next_update:
            raise errors.REVOCATION_UNKNOWN.error(
                f"CRL {loaded.source} expired: nextUpdate {next_update.isoformat()}"
            )


class CrlRefresher:
    """The scheduled job: reload files, fetch URLs (cached), report what failed."""

    def __init__(
        self,
        store: CrlStore,
        *,
        files: tuple[Path, ...],
        urls: tuple[str, ...],
        cache_dir: Path,
        timeout: float = FETCH_TIMEOUT_SECONDS,
    ) -> None:
        self.store, self.files, self.urls = store, files, urls
        self.cache_dir, self.timeout = cache_dir, timeout

    def start(self, at: datetime) -> RefreshReport:
        """At start-up, without the network: the files, and the last fetched copy of each
        URL, whose age is its cache file's modification time (so a stale cache stays
        stale across a restart)."""
        report = self._load_files(at)
        for url in self.urls:
            path = cache_path(self.cache_dir, url)
            if path.is_file():
                when = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
                self._step(report, partial(self._add_path, path, url, when))
        return report

    def run(self, at: datetime) -> RefreshReport:
        """The scheduled job: reload the files, fetch every URL. A failed source keeps its
        last good CRL, which turns stale after `crl_max_age_hours` (then: fail closed)."""
        report = self._load_files(at)
        for url in self.urls:
            self._step(report, partial(self._fetch, url, at))
        return report

    def _load_files(self, at: datetime) -> RefreshReport:
        report = RefreshReport()
        for path in self.files:
            self._step(report, partial(self.store.add_file, path, at))
        return report

    def _add_path(self, path: Path, source: str, when: datetime) -> LoadedCrl:
        return self.store.add(path.read_bytes(), source, when)

    def _fetch(self, url: str, at: datetime) -> LoadedCrl:
        return self.store.add(fetch_crl(url, self.cache_dir, timeout=self.timeout), url, at)

    @staticmethod
    def _step(report: RefreshReport, action: Callable[[], LoadedCrl]) -> None:
        try:
            report.loaded.append(action().source)
        except errors.AxisError as exc:  # one bad source never stops the others
            report.problems.append(exc.as_finding())
        except OSError as exc:
            report.problems.append(errors.REVOCATION_UNKNOWN.finding(str(exc)))


def cache_path(cache_dir: Path, url: str) -> Path:
    return cache_dir / (hashlib.sha256(url.encode("utf-8")).hexdigest()[:32] + ".crl")


def fetch_crl(url: str, cache_dir: Path, *, timeout: float = FETCH_TIMEOUT_SECONDS) -> bytes:
    """Download a CRL over http(s) and keep it in the cache; never a file: or ftp: URL."""
    if not url.lower().startswith(("http://", "https://")):
        raise errors.CONFIG_INVALID.error(f"CRL URL {url!r}: only http and https are fetched")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (scheme checked)
            data: bytes = resp.read(MAX_CRL_BYTES + 1)
    except (OSError, ValueError) as exc:
        raise errors.REVOCATION_UNKNOWN.error(f"CRL {url}: {exc}") from exc
    if len(data) > MAX_CRL_BYTES:
        raise errors.REVOCATION_UNKNOWN.error(f"CRL {url}: larger than {MAX_CRL_BYTES} bytes")
    _parse(data, url)  # never cache something that is not a CRL
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_path(cache_dir, url)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return data


def _parse(data: bytes, source: str) -> x509.CertificateRevocationList:
    try:
        if b"-----BEGIN" in data[:64]:
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise errors.REVOCATION_UNKNOWN.error(f"CRL {source}: not a CRL ({exc})") from exc


def _newer(new: LoadedCrl, old: LoadedCrl) -> bool:
    """The later thisUpdate wins; for the same list, the later refresh."""
    a, b = new.crl.last_update_utc, old.crl.last_update_utc
    return a > b or (a == b and new.refreshed_at >= old.refreshed_at)
