"""Status packages the node emits on a recipient's behalf, signed by the node.

- 01 (arrived) when a recipient takes a document and its system sends none (Art. 11.1:
  sending completes when the delivery acknowledgement comes back);
- 15 (agreed) when a recall withdraws a copy before the recipient took it (Art. 9.3).

The package names the recipient in `From` (whose status it is) and says in `Description`,
in Vietnamese and English, that the node issued it; the node's signature covers it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from axis.edxml.model import (
    Organ,
    ResponseFor,
    StatusCode,
    StatusHeader,
    StatusPackage,
)
from axis.edxml.writer import build


class Signer(Protocol):
    def sign(self, raw: bytes) -> bytes:
        """Return the package with the node's enveloped signature added."""


DESCRIPTIONS: dict[StatusCode, str] = {
    StatusCode.ARRIVED: (
        "Đã đến: trục liên thông xác nhận cơ quan nhận đã nhận văn bản / "
        "Arrived: the exchange node confirms the recipient took the document"
    ),
    StatusCode.AGREED: (
        "Đã thu hồi trước khi cơ quan nhận tiếp nhận (trục liên thông xác nhận) / "
        "Withdrawn before delivery (confirmed by the exchange node)"
    ),
}


def node_status(
    *,
    on_behalf_of: Organ,
    original_sender: str,
    document_id: str,
    code: StatusCode,
    at: datetime,
    signer: Signer,
) -> tuple[StatusPackage, bytes]:
    package = StatusPackage(
        header=StatusHeader(
            sender=on_behalf_of,
            response_for=ResponseFor(organ_id=original_sender, document_id=document_id),
            status_code=code,
            description=DESCRIPTIONS[code],
            timestamp=at,
        )
    )
    return package, signer.sign(build(package))
