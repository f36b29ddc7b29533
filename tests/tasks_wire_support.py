"""Signed packages of the task flow (assigning documents, replies, status packages with
task events) for a test node, and the steps a scenario repeats: move the fixed clock,
let the node deliver, run the tracker as its job does."""

from __future__ import annotations

from datetime import date, datetime

from admin_support import settle
from exchange_support import TestNode
from tasks_support import FOLLOWER, UBND

from adapters.task_parts import task_parts
from axis.edxml.model import (
    DocCode,
    DocumentHeader,
    DocumentPackage,
    Organ,
    ResponseFor,
    StatusHeader,
    StatusPackage,
)
from axis.edxml.writer import build
from axis.tasks.extension import add_extension, mint_code
from axis.tasks.model import STATUS_FOR_EVENT, Agency, TaskEntry, TaskEvent, TaskExtension


def goto(t: TestNode, when: datetime) -> None:
    """The node's fixed clock, moved forward to `when`."""
    assert when >= t.clock.now(), (when, t.clock.now())
    t.clock.advance(when - t.clock.now())


def track(t: TestNode) -> int:
    """What the `tasks.track` job does: deliver what is queued, seal, read the journal;
    the number of events this call applied (a served node's own job may apply some first,
    so tests assert the tasks' states, not this count)."""
    settle(t)
    t.node.store.seal_journal(t.clock.now(), claim_gaps=False)
    return task_parts(t.node).tracker.run()


def assigning(t: TestNode, number: str, issued: date,
              tasks: tuple[tuple[str, str, date, tuple[str, ...]], ...]
              ) -> tuple[str, tuple[str, ...], bytes]:
    """An assigning document from the Committee (the Office acts in its name), signed;
    `tasks`: (lead, content, deadline, supporting). Its id, the task codes, the bytes."""
    doc_id = f"{UBND},{issued:%Y/%m/%d},{number}/UBND-KT"
    codes = tuple(mint_code(UBND, issued, number, i) for i in range(1, len(tasks) + 1))
    entries = tuple(TaskEntry(code, content, Agency(lead), deadline, FOLLOWER,
                              supporting=tuple(Agency(s) for s in supporting))
                    for code, (lead, content, deadline, supporting) in zip(
                        codes, tasks, strict=True))
    leads = tuple(dict.fromkeys(lead for lead, *_ in tasks))
    package = DocumentPackage(header=DocumentHeader(
        sender=Organ(UBND, name="Ủy ban nhân dân tỉnh Lạng Sơn"),
        recipients=tuple(Organ(r) for r in leads), document_id=doc_id,
        code=DocCode(number, "UBND-KT"), promulgation_date=issued,
        subject="Về việc giao nhiệm vụ", steering_type=1))
    raw = add_extension(build(package), TaskExtension(tasks=entries))
    return doc_id, codes, t.signer(UBND).sign(raw)


def reply(t: TestNode, sender: str, number: int, task_document: str,
          codes: tuple[str, ...], *,
          subject: str = "Báo cáo kết quả thực hiện nhiệm vụ") -> tuple[str, bytes]:
    """A reply to the Office naming the tasks it answers (Art. 13.3.b), signed."""
    day = t.clock.now().date()
    doc_id = f"{sender},{day:%Y/%m/%d},{number}/BC"
    package = DocumentPackage(header=DocumentHeader(
        sender=Organ(sender), recipients=(Organ(UBND),), document_id=doc_id,
        code=DocCode(str(number), "BC"), promulgation_date=day,
        subject=subject, response_for=(ResponseFor(organ_id=UBND, document_id=task_document),),
        response_for_task=codes))
    return doc_id, t.signer(sender).sign(build(package))


def events(t: TestNode, sender: str, original_sender: str, document_id: str,
           *evs: TaskEvent) -> bytes:
    """A status package about `document_id` carrying task events, signed."""
    status = StatusPackage(header=StatusHeader(
        sender=Organ(sender),
        response_for=ResponseFor(organ_id=original_sender, document_id=document_id),
        status_code=STATUS_FOR_EVENT[evs[0].type],
        description=evs[0].reason or "Cập nhật nhiệm vụ", timestamp=t.clock.now()))
    return t.signer(sender).sign(add_extension(build(status), TaskExtension(events=evs)))
