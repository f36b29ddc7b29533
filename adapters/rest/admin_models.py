"""The answers of the admin and operator API (adapters/rest/admin.py), typed so that
/openapi.json describes each one (and FastAPI checks what the routes return against it).

An agency is shown in the registry's own JSON format (axis/registry/codec.py), field for
field: `RegistryAgencyOut` must name every field the codec writes (a test holds them equal).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from axis.clock import iso
from axis.edxml.model import Kind
from axis.registry import codec
from axis.registry.model import (
    Agency,
    AgencyChange,
    AgencyKind,
    AgencyState,
    Credential,
    DeliveryMode,
)
from axis.route.model import DeliveryState, TrailEvent

ISO = "ISO 8601, +07:00"


class WhoAmIOut(BaseModel):
    name: str = Field(description="the administrator's name, the actor of their changes")
    role: Literal["viewer", "auditor", "operator", "registry_admin", "admin"]


class RegistryAgencyOut(BaseModel):
    """An agency as the registry keeps it (docs/registry.md)."""

    agency_id: str = Field(description="QCVN 102 form: the routing key")
    short_id: str = Field(description="Decision 20/2020 form")
    name: str
    parent_id: str | None
    level: int = Field(description="1 province or ministry … 4 commune")
    kind: AgencyKind
    state: AgencyState
    delivery_mode: DeliveryMode
    endpoint: str = Field(description="push mode: where the node posts packages")
    contact_email: str
    contact_phone: str
    certificates: list[str] = Field(description="SHA-256 fingerprints of bound certificates")
    note: str
    served_by: str = Field(description="external: the peer node serving it (empty: "
                                       "national); internal: empty (this node)")

    @classmethod
    def of(cls, agency: Agency) -> RegistryAgencyOut:
        return cls.model_validate(codec.agency_to_dict(agency))


class AgencyListOut(BaseModel):
    count: int
    agencies: list[RegistryAgencyOut]


class AgencyOut(BaseModel):
    """The agency after a change."""

    agency: RegistryAgencyOut

    @classmethod
    def of(cls, agency: Agency) -> AgencyOut:
        return cls(agency=RegistryAgencyOut.of(agency))


class ChangeOut(BaseModel):
    """One entry of an agency's history (Art. 22: who, when, why)."""

    at: str = Field(description=ISO)
    actor: str
    reason: str
    action: str = Field(description="add, update, suspend, reactivate, retire, "
                                    "bind-certificate, …")
    before: dict[str, Any] | None = Field(description="the entry before (null: added)")
    after: dict[str, Any] | None

    @classmethod
    def of(cls, c: AgencyChange) -> ChangeOut:
        return cls(at=iso(c.at), actor=c.actor, reason=c.reason, action=c.action,
                   before=c.before, after=c.after)


class CredentialOut(BaseModel):
    """A credential of an agency's system; never its secret nor the secret's hash."""

    system_id: str
    agency_id: str
    issued_at: str = Field(description=ISO)
    revoked_at: str | None = Field(description=f"{ISO}; null while valid")

    @classmethod
    def of(cls, c: Credential) -> CredentialOut:
        return cls(system_id=c.system_id, agency_id=c.agency_id, issued_at=iso(c.issued_at),
                   revoked_at=iso(c.revoked_at) if c.revoked_at else None)


class IssuedCredentialOut(CredentialOut):
    secret: str = Field(description="shown in this answer only (Cache-Control: no-store)")


class AgencyDetailOut(BaseModel):
    agency: RegistryAgencyOut
    history: list[ChangeOut]
    credentials: list[CredentialOut]


class CredentialListOut(BaseModel):
    credentials: list[CredentialOut]


class CertificateBoundOut(BaseModel):
    fingerprint: str = Field(description="SHA-256 of the DER certificate: what is bound")
    subject: str = Field(description="RFC 4514")
    not_after: str = Field(description=ISO)
    agency: RegistryAgencyOut


class NoticeDeliveryOut(BaseModel):
    recipient_id: str
    delivery_id: str = Field(description="transport id of this agency's copy")
    duplicate: bool


class NoticeSentOut(BaseModel):
    """A maintenance notice (Art. 21.3), sent to every active agency."""

    document_id: str
    sender_id: str
    package_sha256: str
    sent_at: str = Field(description=ISO)
    recipients: int
    queued: int = Field(description="copies queued now (not duplicates of an earlier send)")
    deliveries: list[NoticeDeliveryOut]


class TrailStepOut(BaseModel):
    event: TrailEvent
    at: str = Field(description=ISO)
    detail: str


class DeliveryDetailOut(BaseModel):
    delivery_id: str
    state: DeliveryState
    kind: Kind
    sender_id: str
    recipient_id: str
    document_id: str
    accepted_at: str = Field(description=ISO)
    delivered_at: str | None = Field(description=f"{ISO}; null until taken")
    push_attempts: int = Field(description="push attempts so far (push mode)")
    trail: list[TrailStepOut] = Field(description="this copy's steps in the document's trail")


class RequeuedOut(BaseModel):
    delivery_id: str
    state: Literal["available"]
