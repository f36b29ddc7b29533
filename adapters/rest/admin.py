"""The admin and operator API, `/admin/v1` (issue 5; docs/operations.md).

- the agency registry: list, read with its history, create, change, suspend, reactivate,
  retire (Art. 8.2: identifiers set by the provincial committee, kept here);
- agency credentials: issue (the secret is shown once), list, revoke at once (Art. 22:
  accounts created, changed and revoked on request; a compromised one cut off at once);
- signing certificates: bind an uploaded PEM to an agency (by its SHA-256), unbind;
- maintenance notices to every active agency, in writing, in its inbox (Art. 21.3);
- dead letters of push delivery: read, requeue.

Every change names who (the administrator's token name) and why (`reason`, required) and
is kept in the agency's history or the journal. Authentication and roles: admin_auth.py.
Answers: the models of admin_models.py; errors: the JSON of adapters/rest/errors.py, as on
every other route.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field

from adapters.node import Node
from adapters.rest.admin_auth import Administrator, admin_route_class, administrator, role
from adapters.rest.admin_models import (
    AgencyDetailOut,
    AgencyListOut,
    AgencyOut,
    CertificateBoundOut,
    ChangeOut,
    CredentialListOut,
    CredentialOut,
    DeliveryDetailOut,
    IssuedCredentialOut,
    NoticeDeliveryOut,
    NoticeSentOut,
    RegistryAgencyOut,
    RequeuedOut,
    TrailStepOut,
    WhoAmIOut,
)
from adapters.rest.errors import ErrorBody
from axis import errors
from axis.app import operations
from axis.auth import keys, signing
from axis.clock import iso
from axis.journal.access import Action
from axis.registry import codec
from axis.registry.model import AgencyKind, AgencyState
from axis.registry.service import Registry
from axis.registry.uploaded import read_pem
from axis.route import notices
from axis.settings import Settings
from axis.trust.verdict import fingerprint

Who = Annotated[Administrator, Depends(administrator)]
# What each route admits (axis/auth/roles.py): any one of the capabilities named.
VIEWER, OPERATOR = role("viewer"), role("operator")
REGISTRY_ADMIN, ADMIN = role("registry_admin"), role("admin")
SEARCH = role("viewer", access=Action.SEARCH)
RESEND = role("operator", access=Action.RESEND)
NO_STORE = {"Cache-Control": "no-store"}  # answers that carry a secret
# Fields changed through their own routes: state (with its transition's name in the
# history) and certificates (with their ownership check).
OWN_ROUTES = frozenset({"state", "certificates"})

_ERRORS = {
    400: "the registry refuses the entry (registry.invalid_*, registry.reason_missing)",
    401: "no valid administrator token (auth.admin_required)",
    403: "the token's role does not allow this route (auth.admin_forbidden)",
    404: "no such agency, credential or delivery",
    409: "the change conflicts with the registry's state",
    422: "a parameter or the JSON body is invalid",
}


def _responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    # A route that reads input (422) can also meet the registry's own refusals (400).
    extra = (400,) if 422 in statuses else ()
    return {s: {"model": ErrorBody, "description": _ERRORS[s]}
            for s in (401, 403, *statuses, *extra)}


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000,
                        description="why (the request this change answers, Art. 22)")


class AgencyIn(ReasonIn):
    agency: dict[str, Any] = Field(description="fields of the registry's JSON format")


class AgencyChangesIn(ReasonIn):
    changes: dict[str, Any] = Field(description="only the fields that change")


class CredentialIn(ReasonIn):
    system_id: str | None = Field(default=None, max_length=128)


class CertificateIn(ReasonIn):
    pem: str = Field(min_length=1, max_length=64_000, description="the certificate, PEM")


class NoticeIn(BaseModel):
    number: str = Field(description="number issued by the sender's registry clerk")
    notation: str = "TB-TLT"
    subject_vi: str
    subject_en: str
    text_vi: str
    text_en: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    urgent: bool = False
    reason: str = Field(default="Thông báo bảo trì (Điều 21.3)", min_length=1, max_length=2000)


def _fields(raw: dict[str, Any]) -> dict[str, Any]:
    if OWN_ROUTES & raw.keys():
        raise errors.REGISTRY_INVALID_AGENCY.error(
            f"{sorted(OWN_ROUTES & raw.keys())}: change these through their own routes")
    try:
        return codec.parse_fields(raw)
    except ValueError as exc:
        raise errors.REGISTRY_INVALID_AGENCY.error(str(exc)) from exc


def router(settings: Settings, node: Node) -> APIRouter:
    # The bearer scheme is declared for the OpenAPI document only: the route class has
    # checked the token before any dependency runs.
    bearer = HTTPBearer(auto_error=False, scheme_name="AdminBearer",
                        description="an administrator token (`axis admin token`)")
    r = APIRouter(prefix="/admin/v1", tags=["admin"], dependencies=[Security(bearer)],
                  route_class=admin_route_class(lambda: settings.admin.tokens, node.access))
    reg = node.registry

    def secret_for(system_id: str) -> str:
        # The agency API re-derives secrets from the master key (axis/auth/signing.py).
        return signing.derive_secret(keys.master_key(settings), system_id)

    @r.get("/whoami", openapi_extra=VIEWER, responses=_responses())
    def whoami(who: Who) -> WhoAmIOut:
        """The calling administrator's name and role."""
        return WhoAmIOut.model_validate({"name": who.name, "role": who.role})

    # --- the registry ---------------------------------------------------------------------
    @r.get("/agencies", openapi_extra=SEARCH, responses=_responses(422))
    def list_agencies(state: AgencyState | None = None, kind: AgencyKind | None = None
                      ) -> AgencyListOut:
        """Registered agencies, by identifier."""
        found = reg.list(state=state, kind=kind)
        return AgencyListOut(count=len(found), agencies=[RegistryAgencyOut.of(a) for a in found])

    @r.get("/agencies/{agency_id}", openapi_extra=VIEWER, responses=_responses(404))
    def get_agency(agency_id: str) -> AgencyDetailOut:
        """One agency (either identifier form), its history and its credentials."""
        a = reg.resolve(agency_id)
        return AgencyDetailOut(
            agency=RegistryAgencyOut.of(a),
            history=[ChangeOut.of(c) for c in reg.history(a.agency_id)],
            credentials=[CredentialOut.of(c) for c in reg.credentials(a.agency_id)])

    @r.post("/agencies", status_code=201, openapi_extra=REGISTRY_ADMIN,
            responses=_responses(409, 422))
    def create_agency(body: AgencyIn, who: Who) -> AgencyOut:
        """Register an agency (Art. 8.2)."""
        try:
            entry = codec.merge(None, _fields(body.agency))
        except ValueError as exc:
            raise errors.REGISTRY_INVALID_AGENCY.error(str(exc)) from exc
        return AgencyOut.of(reg.add(entry, actor=who.name, reason=body.reason))

    @r.patch("/agencies/{agency_id}", openapi_extra=REGISTRY_ADMIN,
             responses=_responses(404, 409, 422))
    def update_agency(agency_id: str, body: AgencyChangesIn, who: Who) -> AgencyOut:
        """Change some fields of an agency; the identifier itself never changes."""
        before = reg.resolve(agency_id)
        fields = _fields(body.changes)
        if fields.get("agency_id", before.agency_id) != before.agency_id:
            raise errors.REGISTRY_INVALID_AGENCY.error("agency_id cannot change")
        after = codec.merge(before, fields)
        return AgencyOut.of(reg.update(after, actor=who.name, reason=body.reason))

    for action in ("suspend", "reactivate", "retire"):
        _state_route(r, reg, action)

    # --- credentials (Art. 22) ------------------------------------------------------------
    @r.get("/agencies/{agency_id}/credentials", openapi_extra=OPERATOR,
           responses=_responses(404))
    def list_credentials(agency_id: str) -> CredentialListOut:
        """The agency's credentials, revoked ones included; never a secret."""
        return CredentialListOut(credentials=[CredentialOut.of(c)
                                              for c in reg.credentials(agency_id)])

    @r.post("/agencies/{agency_id}/credentials", status_code=201, openapi_extra=REGISTRY_ADMIN,
            response_model=IssuedCredentialOut, responses=_responses(404, 409, 422))
    def issue_credential(agency_id: str, body: CredentialIn, who: Who) -> JSONResponse:
        """A new credential for the agency's system. The secret is in this answer only."""
        issued = reg.issue_credential(agency_id, actor=who.name, reason=body.reason,
                                      system_id=body.system_id, secret_for=secret_for)
        out = IssuedCredentialOut(**CredentialOut.of(issued.credential).model_dump(),
                                  secret=issued.secret)
        return JSONResponse(out.model_dump(mode="json"), status_code=201, headers=NO_STORE)

    @r.post("/credentials/{system_id}/revoke", openapi_extra=REGISTRY_ADMIN,
            responses=_responses(404, 409, 422))
    def revoke_credential(system_id: str, body: ReasonIn, who: Who) -> CredentialOut:
        """Cut a credential off: its very next request fails (Art. 22)."""
        return CredentialOut.of(reg.revoke_credential(system_id, actor=who.name,
                                                      reason=body.reason))

    # --- certificates ---------------------------------------------------------------------
    @r.post("/agencies/{agency_id}/certificates", openapi_extra=REGISTRY_ADMIN,
            responses=_responses(404, 409, 422))
    def bind_certificate(agency_id: str, body: CertificateIn, who: Who
                         ) -> CertificateBoundOut:
        """Bind a signing certificate (PEM) to the agency: its signatures then count as
        the agency's (Art. 7.1). Answers with the SHA-256 fingerprint it is bound by."""
        cert = read_pem(body.pem)
        a = reg.bind_certificate(agency_id, cert.fingerprint, actor=who.name,
                                 reason=body.reason)
        return CertificateBoundOut(fingerprint=cert.fingerprint, subject=cert.subject,
                                   not_after=iso(cert.not_after),
                                   agency=RegistryAgencyOut.of(a))

    @r.post("/agencies/{agency_id}/certificates/{sha256}/unbind", openapi_extra=REGISTRY_ADMIN,
            responses=_responses(404, 409, 422))
    def unbind_certificate(agency_id: str, sha256: str, body: ReasonIn, who: Who
                           ) -> AgencyOut:
        """Unbind a certificate (a key compromised or replaced)."""
        return AgencyOut.of(reg.unbind_certificate(agency_id, sha256, actor=who.name,
                                                   reason=body.reason))

    # --- maintenance notices (Art. 21.3) ----------------------------------------------
    @r.post("/notices", status_code=201, openapi_extra=OPERATOR,
            responses=_responses(409, 422))
    def send_notice(body: NoticeIn, who: Who) -> NoticeSentOut:
        """A signed notice in the inbox of every active agency of the province."""
        notice = notices.Notice(
            number=body.number, notation=body.notation, subject_vi=body.subject_vi,
            subject_en=body.subject_en, text_vi=body.text_vi, text_en=body.text_en,
            starts_at=body.starts_at, ends_at=body.ends_at, urgent=body.urgent)
        sent = operations.send_notice(
            node.exchange, reg, node.trust.validator.validate, notice,
            sender_id=settings.admin.notice_sender_id, actor=who.name, reason=body.reason,
            signer_fingerprint=fingerprint(node.signer.cert))
        node.worker.wake.set()
        return NoticeSentOut(
            document_id=sent.document_id, sender_id=sent.sender_id,
            package_sha256=sent.package_sha256, sent_at=iso(sent.sent_at),
            recipients=len(sent.deliveries),
            queued=sum(1 for d in sent.deliveries if not d.duplicate),
            deliveries=[NoticeDeliveryOut(recipient_id=d.recipient_id,
                                          delivery_id=d.delivery_id, duplicate=d.duplicate)
                        for d in sent.deliveries])

    # --- deliveries and dead letters ------------------------------------------------------
    @r.get("/deliveries/{delivery_id}", openapi_extra=VIEWER, responses=_responses(404))
    def get_delivery(delivery_id: str) -> DeliveryDetailOut:
        """One delivery: its state, times, push attempts and its recipient's trail."""
        with node.store.transaction() as tx:
            d = tx.get_delivery(delivery_id)
            if d is None:
                raise errors.DELIVERY_UNKNOWN.error(delivery_id)
            trail = [e for e in tx.trail(d.document_id) if e.delivery_id == delivery_id]
        return DeliveryDetailOut(
            delivery_id=d.delivery_id, state=d.state, kind=d.kind, sender_id=d.sender_id,
            recipient_id=d.recipient_id, document_id=d.document_id,
            accepted_at=iso(d.accepted_at),
            delivered_at=iso(d.delivered_at) if d.delivered_at else None,
            push_attempts=node.pusher.attempts(delivery_id),
            trail=[TrailStepOut(event=e.event, at=iso(e.at), detail=e.detail) for e in trail])

    @r.post("/deliveries/{delivery_id}/requeue", openapi_extra=RESEND,
            responses=_responses(404, 422))
    def requeue(delivery_id: str, body: ReasonIn, who: Who) -> RequeuedOut:
        """Put a dead letter back into its agency's inbox with a fresh push budget."""
        with node.store.transaction() as tx:
            d = tx.get_delivery(delivery_id)
        if d is None:
            raise errors.DELIVERY_UNKNOWN.error(delivery_id)
        if not node.pusher.requeue(delivery_id, actor=who.name, reason=body.reason):
            raise errors.API_INVALID_REQUEST.error(f"{delivery_id} is {d.state.value}, "
                                                  "not a dead letter (failed)")
        node.worker.wake.set()
        return RequeuedOut(delivery_id=delivery_id, state="available")

    return r


def _state_route(r: APIRouter, reg: Registry, action: str) -> None:
    """POST /agencies/{id}/suspend|reactivate|retire, each with its reason (Art. 22)."""
    move = getattr(reg, action)

    def change_state(agency_id: str, body: ReasonIn, who: Who) -> AgencyOut:
        return AgencyOut.of(move(agency_id, actor=who.name, reason=body.reason))

    change_state.__doc__ = f"{action.capitalize()} the agency; retired is final."
    r.add_api_route(f"/agencies/{{agency_id}}/{action}", change_state, methods=["POST"],
                    name=f"{action}_agency", openapi_extra=REGISTRY_ADMIN,
                    responses=_responses(404, 409, 422))

