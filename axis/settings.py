"""The node's one settings object: built once at start-up and passed down.

Sources, strongest first: explicit overrides (command-line flags), `AXIS_*` environment
variables (nested with `__`, e.g. `AXIS_TRUST__ALLOW_SHA1=true`), the TOML file named by
`AXIS_CONFIG` (default: the packaged `axis/_data/config/axis.toml`, see axis/packaged.py),
then the defaults below.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from axis import errors
from axis.packaged import DEFAULT_ANCHORS_DIR, DEFAULT_CALENDAR_FILE, DEFAULT_CONFIG_FILE

# Art. 4.3: PDF for signed and read-only documents; .doc .docx .odt .txt .rtf;
# .xls .xlsx .ods .csv; images. Zip is the reference SDK's container (spec §1).
DEFAULT_ALLOWED_TYPES: tuple[str, ...] = (
    "pdf", "doc", "docx", "odt", "txt", "rtf", "xls", "xlsx", "ods", "csv",
    # SVG is left out on purpose: it can carry scripts. A province that needs it can add it.
    "png", "jpeg", "gif", "tiff", "bmp", "webp", "zip",
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EdxmlSettings(_Frozen):
    max_package_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    max_depth: int = Field(default=32, gt=4)
    max_elements: int = Field(default=20_000, gt=10)
    max_attachments: int = Field(default=100, gt=0)
    allowed_types: tuple[str, ...] = DEFAULT_ALLOWED_TYPES
    zip_max_entries: int = Field(default=1_000, gt=0)
    zip_max_total_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    zip_max_ratio: int = Field(default=200, gt=1)
    # Entries inside zips are reported, not refused for their type, unless this is on
    # (spec §1: real packages carry odd entries, even nested edXML).
    zip_strict_entries: bool = False


class TrustSettings(_Frozen):
    allow_sha1: bool = False
    anchors_dir: Path = DEFAULT_ANCHORS_DIR  # packaged, holds no anchor: set your own
    crl_files: tuple[Path, ...] = ()
    crl_urls: tuple[str, ...] = ()
    crl_max_age_hours: int = Field(default=48, gt=0)
    node_key: Path | None = None
    node_cert: Path | None = None
    # An issuer without any configured CRL: accepted as `revocation: unchecked` unless this
    # is on (then trust.revocation_unknown). A stale CRL always fails closed.
    require_crl: bool = False
    crl_refresh_hours: int = Field(default=6, gt=0)  # the server's CRL refresh job period
    # Migration exception list (agency identifiers): unsigned or placeholder packages from
    # these senders are admitted, each with a trust.unsigned_admitted warning to journal.
    admit_unsigned: tuple[str, ...] = ()


class ClockSettings(_Frozen):
    calendar_file: Path = DEFAULT_CALENDAR_FILE


class RestSettings(_Frozen):
    """The agency API (adapters/rest/agency.py, docs/api.md)."""

    # Token bucket per agency: `burst` requests at once, refilled at `rate_per_minute`.
    rate_per_minute: int = Field(default=120, gt=0)
    burst: int = Field(default=30, gt=0)
    # Cap on a request body; None: the edXML package limit plus 64 KiB of multipart framing.
    max_body_bytes: int | None = Field(default=None, gt=0)
    # Accepted distance between a request's timestamp and the node's clock (±5 minutes).
    clock_skew_seconds: int = Field(default=300, gt=0, le=3600)
    # The credential master key (secrets are derived from it); default
    # data_dir/node/credentials.key, made on first start with mode 0600.
    credentials_key: Path | None = None
    # Mutual TLS, terminated by a reverse proxy that forwards the client certificate (PEM,
    # URL-encoded as nginx's $ssl_client_escaped_cert) in this header; empty: off. Only
    # safe when the node is reachable through that proxy alone.
    client_cert_header: str = ""
    # With mutual TLS on: refuse requests that bring no client certificate.
    require_client_cert: bool = False
    # Reverse proxies (addresses or networks) whose X-Request-Id the node keeps; from any
    # other peer the node makes its own request id (adapters/rest/access.py).
    trusted_proxies: tuple[IPvAnyNetwork, ...] = ()

    def body_cap(self, edxml: EdxmlSettings) -> int:
        return self.max_body_bytes or edxml.max_package_bytes + 64 * 1024


class AdminToken(_Frozen):
    """One administrator's token, by its hash only (`axis admin token` makes one)."""

    name: str = Field(min_length=1, max_length=200)  # the actor named in every change
    # axis/auth/roles.py says what each role may do.
    role: Literal["viewer", "auditor", "operator", "registry_admin", "office", "admin"]
    hash: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")


class AdminSettings(_Frozen):
    """The admin and operator API (adapters/rest/admin.py, docs/operations.md)."""

    # Art. 22: each administrator has a token of their own, never shared; only hashes here.
    tokens: tuple[AdminToken, ...] = ()
    # Who maintenance notices (Art. 21.3) come From: a registered agency, the unit that
    # operates the axis (Art. 17: Sở Thông tin và Truyền thông). The seed's id is synthetic.
    notice_sender_id: str = "000.00.11.H37"
    # /metrics without a token by default (scraped on an internal network); on: an admin
    # or operator bearer token is required.
    metrics_require_token: bool = False
    # Queue depth is reported per active agency up to this many (one broker call each).
    metrics_max_agencies: int = Field(default=500, gt=0)


class PushSettings(_Frozen):
    """Push delivery to agencies in `push` mode (adapters/push, docs/operations.md)."""

    enabled: bool = True  # the server runs the push loop (off: deliveries wait, pullable)
    # 12 attempts, 5 s doubling, capped at 15 min: waits of up to 66 min in all (about
    # 33 on average, full jitter) before a dead letter: an agency server's restart fits.
    max_attempts: int = Field(default=12, ge=1, le=50)  # then the delivery is dead-lettered
    base_delay_seconds: float = Field(default=5.0, gt=0)  # back-off: base * 2^(n-1) …
    max_delay_seconds: float = Field(default=900.0, gt=0)  # … capped, then full jitter
    timeout_seconds: float = Field(default=30.0, gt=0)
    poll_seconds: float = Field(default=1.0, gt=0)
    batch: int = Field(default=50, gt=0)  # deliveries per agency per pass
    # Packages are documents: plain http only for tests and closed networks.
    require_https: bool = True


class FederationSettings(_Frozen):
    """Peers: the national axis and other provinces' nodes (issue 10, docs/federation.md).
    Each peer's endpoint, system id and secret file are registry data (`axis peer add`);
    these are the node-wide bounds of forwarding to and polling from them."""

    enabled: bool = True  # forward to and poll from the registered peers
    # 12 attempts, 30 s doubling, capped at 30 min: about 2 h 40 min of waits at most
    # (half that on average, full jitter) before a dead letter: a peer's maintenance
    # window fits; an operator resends after longer outages (`axis peer resend`).
    max_attempts: int = Field(default=12, ge=1, le=50)
    base_delay_seconds: float = Field(default=30.0, gt=0)
    max_delay_seconds: float = Field(default=1800.0, gt=0)
    # Urgent documents (Priority ≥ 1, Art. 7.2) wait this fraction of a normal back-off.
    urgent_factor: float = Field(default=0.25, gt=0, le=1)
    timeout_seconds: float = Field(default=60.0, gt=0)  # one call to a peer
    batch: int = Field(default=50, gt=0)  # packages per peer per pass
    poll_seconds: float = Field(default=30.0, gt=0)  # how often each peer is polled
    # How often the national axis's registry is read (axis/federation/registry_sync.py).
    registry_sync_hours: float = Field(default=6.0, gt=0)
    # How often each active Axis peer's signed registry snapshot is pulled
    # (axis/federation/snapshot.py).
    snapshot_hours: float = Field(default=6.0, gt=0)
    # Packages from the national axis: plain http only for tests and closed networks.
    require_https: bool = True


class DeliverySettings(_Frozen):
    """Delivery reconciliation (axis/route/reconcile.py, docs/operations.md)."""

    # A delivery accepted this long ago and still in no inbox (nor waiting in its queue)
    # is stranded: republished, and counted by the delivery health signal. Above the
    # broker's longest retry back-off (120 s), so a retried message is not taken for lost.
    reconcile_after_seconds: int = Field(default=300, ge=1)
    reconcile_every_seconds: int = Field(default=60, ge=1)  # the scheduled pass's period
    reconcile_batch: int = Field(default=1000, gt=0)


class AuditSettings(_Frozen):
    """The journal's signed checkpoints (axis/journal/checkpoint.py, docs/operations.md)
    and the evidence kept of refused packages (adapters/store/refused_repo.py)."""

    # How often the node signs a checkpoint of its sealed journal (and once on shutdown).
    checkpoint_every_seconds: int = Field(default=300, ge=1)
    # Where each checkpoint is also written as a file, for an operator to ship elsewhere;
    # None: data_dir/checkpoints.
    checkpoint_dir: Path | None = None
    # Refused packages' bytes, kept as evidence for `axis audit replay` (data_dir/refused,
    # apart from the package store): pruned after this many days by the audit.refused
    # job, and not kept at all once the kept bytes reach `refused_max_bytes` (the
    # journal's package.refused then says kept: false), so a flood of refusals cannot
    # fill the disk.
    refused_retention_days: int = Field(default=90, ge=1)
    refused_max_bytes: int = Field(default=2 * 1024 * 1024 * 1024, ge=0)


class VdxpSystem(_Frozen):
    """One agency system allowed to speak the national axis's protocol at /vdxp/
    (adapters/vdxp, docs/vdxp.md). The protocol signs no method, path or nonce, so each
    system is bound to where it calls from: an address in `addresses` or a client
    certificate in `client_cert_fingerprints` (at least one of the two lists)."""

    system_id: str = Field(min_length=1, max_length=200)  # its credential (axis credentials)
    addresses: tuple[IPvAnyNetwork, ...] = ()  # CIDRs it may call from
    client_cert_fingerprints: tuple[str, ...] = ()  # SHA-256 hex, lower case
    # The SDK fixes its timestamp when its service object is built: a long-lived connector
    # sends the same one for hours. Widen per system, never globally.
    timestamp_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # Issue 10: this system is another Axis node, the peer of that name (axis peer list):
    # it only hands packages over (sendEdoc), which enter as that peer's (the peer's
    # admission list, this node's agencies only); its secret is derived like an agency
    # credential's (`axis peer secret SYSTEM_ID` prints it for the other node).
    peer: str = Field(default="", max_length=64)

    @model_validator(mode="after")
    def _bound(self) -> VdxpSystem:
        if not self.addresses and not self.client_cert_fingerprints:
            raise ValueError(f"vdxp system {self.system_id!r}: give addresses or "
                             "client_cert_fingerprints (an unbound system is refused)")
        for fp in self.client_cert_fingerprints:
            if not re.fullmatch(r"[0-9a-f]{64}", fp):
                raise ValueError(f"client_cert_fingerprints: 64 lower-case hex, not {fp!r}")
        return self


class VdxpSettings(_Frozen):
    """The national-axis compatibility listener (/vdxp/, docs/vdxp.md): off by default,
    then open only to the systems listed."""

    enabled: bool = False
    systems: tuple[VdxpSystem, ...] = ()
    # Token bucket per system in this mode, apart from (and by default below) the REST one.
    rate_per_minute: int = Field(default=60, gt=0)
    burst: int = Field(default=20, gt=0)
    # Besides every parameter an operation reads, the headers that must be in the signed
    # JSON. The SDK's exact signed set is unconfirmed: relax only for a connector that
    # cannot sign these, and say so in the system's record.
    signed_required: tuple[str, ...] = ("systemid", "timestamp")

    def system(self, system_id: str) -> VdxpSystem | None:
        return next((s for s in self.systems if s.system_id == system_id), None)


class TasksSettings(_Frozen):
    """Tasks assigned through documents (Art. 13-16, docs/tasks.md)."""

    # Report periods (Art. 14.3.đ) start on this day of the month before them and end
    # the day before it in their last month: provincial practice is 15th -> 14th; 1 gives
    # calendar months (axis/tasks/report.py, PeriodConfig).
    report_start_day: int = Field(default=15, ge=1, le=28)
    # The tracker (tasks read from the journal) and the reminder job's periods.
    track_every_seconds: int = Field(default=2, ge=1)
    remind_every_seconds: int = Field(default=300, ge=1)
    reminders: bool = True
    # Reminders to the lead agency and the Office, as offsets from the deadline: "3wd" =
    # 3 working days on the office calendar, "1d" = 1 day (axis/tasks/deadlines.py).
    remind_before: tuple[str, ...] = ("3wd", "1d")
    remind_overdue: tuple[str, ...] = ("1wd",)
    # Who the reminder notices are From (a registered agency); empty: admin.notice_sender_id.
    reminder_sender_id: str = ""

    @model_validator(mode="after")
    def _offsets(self) -> TasksSettings:
        for text in (*self.remind_before, *self.remind_overdue):
            if not re.fullmatch(r"[0-9]{1,3}(wd|d)", text):
                raise ValueError(f"tasks reminder offset {text!r}: like 3wd or 1d")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AXIS_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    data_dir: Path = Path("var")
    # The province this node serves (Decision 20/2020 level-1 group, H01 … H63): its own
    # agencies' identifiers end in it (axis/registry/rules.py). Lạng Sơn by default.
    province: str = Field(default="H37", pattern=r"^[A-Z][0-9]{2}$")
    # Empty: the embedded default (SQLite under data_dir, in-process broker). Set both for
    # production (compose.yaml): postgresql+psycopg://… and amqp://…
    database_url: str = ""
    # PostgreSQL connections each engine of a process keeps open (plus as many again in
    # bursts). At least the requests one HTTP process serves at once (its agency systems'
    # connections): fewer, and every request past the pool opens and closes a connection
    # of its own (issue 9: that churn cost a third of the throughput). Mind the server's
    # max_connections: processes × 2 engines × 2 × this (docs/deployment.md).
    database_pool_size: int = Field(default=12, ge=1, le=200)
    broker_url: str = ""
    # Names of the node's exchanges and queues on the broker (`<prefix>.agency.<id>` …):
    # every process of one node uses the same; two nodes sharing a cluster, different ones.
    broker_prefix: str = Field(default="axis", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    # classic: one priority queue per agency (one RabbitMQ node); quorum: an urgent and a
    # normal replicated quorum queue per agency (a RabbitMQ cluster, docs/deployment.md).
    broker_layout: Literal["classic", "quorum"] = "classic"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    log_level: str = "info"
    # `axis serve`'s log lines: json; console (aligned, for a person); auto: console when
    # stderr is a terminal, else json (adapters/logs). AXIS_LOG_FORMAT=console.
    log_format: Literal["auto", "json", "console"] = "auto"
    edxml: EdxmlSettings = EdxmlSettings()
    trust: TrustSettings = TrustSettings()
    clock: ClockSettings = ClockSettings()
    admin: AdminSettings = AdminSettings()
    push: PushSettings = PushSettings()
    rest: RestSettings = RestSettings()
    delivery: DeliverySettings = DeliverySettings()
    federation: FederationSettings = FederationSettings()
    vdxp: VdxpSettings = VdxpSettings()
    audit: AuditSettings = AuditSettings()
    tasks: TasksSettings = TasksSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file comes in as init values; the environment must beat it.
        return (env_settings, init_settings)


def load_settings(
    config_file: Path | None = None,
    *,
    environ: dict[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the settings once. Raises `node.config_invalid` with the reason."""
    env = os.environ if environ is None else environ
    path = config_file or (Path(env["AXIS_CONFIG"]) if env.get("AXIS_CONFIG") else None)
    if path is None and DEFAULT_CONFIG_FILE.is_file():
        path = DEFAULT_CONFIG_FILE
    file_values: dict[str, Any] = {}
    try:
        if path is not None:
            with path.open("rb") as fh:
                file_values = tomllib.load(fh)
        settings = Settings(**file_values)
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise errors.CONFIG_INVALID.error(f"{path or 'settings'}: {exc}") from exc
    return with_overrides(settings, **overrides)


def with_overrides(settings: Settings, **overrides: Any) -> Settings:
    """Explicit values (command-line flags) over everything else, validated."""
    if not overrides:
        return settings
    checked: dict[str, Any] = {}
    try:
        for key, value in overrides.items():
            info = Settings.model_fields.get(key)
            if info is None:
                raise errors.CONFIG_INVALID.error(f"unknown setting {key!r}")
            # Validated field by field: building a new Settings would re-read the
            # environment, which must not beat an explicit flag.
            checked[key] = TypeAdapter(cast(Any, info.annotation)).validate_python(value)
    except ValidationError as exc:
        raise errors.CONFIG_INVALID.error(str(exc)) from exc
    return settings.model_copy(update=checked)
