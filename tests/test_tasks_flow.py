"""The must-show scenarios of issue 12 through the real HTTP edge, on a fixed clock.

Agencies send signed packages with the agency API (sendEdoc), take their copies
(getEdoc) and read their own tasks (/v1/tasks); the Office's officer acts through the
admin API (/admin/v1/tasks, role `office`); the tracker reads the journal as its job
does. One assigning document with three tasks to three leads, and a second with two:

- T1 (Sở Tài chính): received, replied, approved over the wire: completed on time, its
  completion time the reply's acceptance; its supporting agency refuses with a reason;
- T2 (Sở Nội vụ): replied, refused, reopened, replied again after the deadline: late;
- T3 (Sở Kế hoạch): an extension asked in time and approved, the new deadline met;
- T4 (Sở Tư pháp): a holiday (1 Jan 2027) inside its deadline (reminder and working days
  left), then an extension asked after the deadline: refused, overdue;
- T5 (Sở Nội vụ): returned to the Office as wrongly assigned.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from admin_support import ROLE_TOKENS, bearer, start
from exchange_support import KE_HOACH, NOI_VU, TAI_CHINH, TU_PHAP, TestNode
from rest_support import RestNode, serve
from tasks_support import UBND, at
from tasks_wire_support import assigning, events, goto, reply, track

from adapters.client.agency import AgencyApiError
from adapters.reports.source import load_report
from adapters.task_parts import task_parts
from axis.tasks import deadlines
from axis.tasks.model import EventType, TaskEvent
from axis.tasks.report import Bucket, PeriodConfig, parse_period

OFFICE, VIEWER = bearer(ROLE_TOKENS["office"]), bearer(ROLE_TOKENS["viewer"])


@pytest.fixture()
def rn(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> Iterator[RestNode]:
    t = start(tmp_path, *pki_dirs)
    with serve(t) as r:
        yield r
    t.node.close()


def admin(rn: RestNode, method: str, path: str, headers: dict[str, str],
          **kw: Any) -> httpx.Response:
    with httpx.Client(base_url=rn.url, timeout=30) as c:
        return c.request(method, f"/admin/v1{path}", headers=headers, **kw)


def task(rn: RestNode, code: str) -> dict[str, Any]:
    r = admin(rn, "GET", f"/tasks/{code}", VIEWER)
    assert r.status_code == 200, r.text
    return dict(r.json())


def copy(receipt: dict[str, Any], agency: str) -> str:
    """The transport id of `agency`'s copy, from the sender's receipt."""
    return str(next(d["doc_id"] for d in receipt["deliveries"] if d["recipient"] == agency))


def test_three_leads_through_the_http_edge(rn: RestNode) -> None:
    t: TestNode = rn.t
    client = {a: rn.client(a) for a in (UBND, TAI_CHINH, NOI_VU, KE_HOACH, TU_PHAP)}

    # 1 Dec: the Committee assigns five tasks in two documents.
    goto(t, at(12, 1))
    doc1, (t1, t2, t3), raw1 = assigning(t, "123", date(2026, 12, 1), (
        (TAI_CHINH, "Rà soát giải ngân vốn đầu tư công.", date(2026, 12, 15), (KE_HOACH,)),
        (NOI_VU, "Phương án sắp xếp biên chế 2027.", date(2026, 12, 31), ()),
        (KE_HOACH, "Kế hoạch đầu tư công trung hạn.", date(2026, 12, 10), (TAI_CHINH,))))
    doc2, (t4, t5), raw2 = assigning(t, "124", date(2026, 12, 1), (
        (TU_PHAP, "Rà soát văn bản quy phạm pháp luật.", date(2027, 1, 4), ()),
        (NOI_VU, "Quyết toán ngân sách huyện.", date(2026, 12, 20), ())))
    sent = {doc1: client[UBND].send(raw1), doc2: client[UBND].send(raw2)}
    track(t)  # (the served node's own tasks.track job may run too: counts are not asserted)
    listed = admin(rn, "GET", "/tasks", VIEWER).json()
    assert listed["total"] == 5 and {x["state"] for x in listed["tasks"]} == {"assigned"}

    # 2 Dec: each lead takes its copy: its tasks are received.
    goto(t, at(12, 2))
    for agency, doc in ((TAI_CHINH, doc1), (NOI_VU, doc1), (KE_HOACH, doc1),
                        (TU_PHAP, doc2), (NOI_VU, doc2)):
        client[agency].get(copy(sent[doc], agency))
    track(t)
    assert {task(rn, c)["task"]["state"] for c in (t1, t2, t3, t4, t5)} == {"received"}
    assert task(rn, t1)["task"]["received_at"] == "2026-12-02T09:00:00+07:00"

    # 3 Dec: the supporting agency of T1 refuses with a reason (14.4.b); T5 is returned
    # as assigned to the wrong agency (13.3.a).
    goto(t, at(12, 3))
    client[KE_HOACH].send(events(t, KE_HOACH, UBND, doc1, TaskEvent(
        t1, EventType.SUPPORT_REFUSED, reason="Không thuộc thẩm quyền của Sở.")))
    client[NOI_VU].send(events(t, NOI_VU, UBND, doc2, TaskEvent(
        t5, EventType.RETURNED, reason="Thuộc chức năng của Sở Tài chính.")))
    track(t)
    assert task(rn, t1)["task"]["support_refusals"][0]["agency"] == KE_HOACH
    assert task(rn, t5)["task"]["state"] == "returned"

    # T1: replied on 5 Dec, approved over the wire on 7 Dec: completed on 5 Dec (13.4).
    goto(t, at(12, 5, 10))
    r1, raw = reply(t, TAI_CHINH, 45, doc1, (t1,))
    receipt = client[TAI_CHINH].send(raw)
    track(t)
    assert task(rn, t1)["task"]["state"] == "awaiting_approval"
    # The same reply again an hour later (a retry), and re-signed: still one reply, its
    # completion time the first acceptance.
    goto(t, at(12, 5, 11))
    assert client[TAI_CHINH].send(raw)["duplicate"]
    _, again = reply(t, TAI_CHINH, 45, doc1, (t1,), subject="Báo cáo (gửi lại)")
    assert not client[TAI_CHINH].send(again)["duplicate"]
    track(t)
    assert [r["accepted_at"] for r in task(rn, t1)["task"]["replies"]] == [
        "2026-12-05T10:00:00+07:00"]
    goto(t, at(12, 7))
    client[UBND].get(copy(receipt, UBND))
    client[UBND].send(events(t, UBND, TAI_CHINH, r1,
                             TaskEvent(t1, EventType.COMPLETION_APPROVED)))
    track(t)
    one = task(rn, t1)
    assert one["task"]["state"] == "completed"
    assert one["task"]["completed_at"] == "2026-12-05T10:00:00+07:00"
    assert [h["action"] for h in one["history"]] == [
        "assigned", "received", "support-refused", "replied", "completion-approved"]
    assert all(h["journal_seq"] for h in one["history"])
    assert {d["role"] for d in one["documents"]} >= {"assigning", "reply", "support-refusal"}

    # T3: extension asked on 8 Dec (in time), approved by the Office with the approving
    # document, replied on 18 Dec: on time against the new deadline (13.5).
    goto(t, at(12, 8))
    client[KE_HOACH].send(events(t, KE_HOACH, UBND, doc1, TaskEvent(
        t3, EventType.EXTENSION_REQUESTED, reason="Chờ số liệu các huyện.",
        new_deadline=date(2026, 12, 20), documents=(f"{KE_HOACH},2026/12/08,77/SKH",))))
    track(t)
    approve = {"reason": "Lãnh đạo UBND tỉnh đồng ý", "new_deadline": "2026-12-20",
               "document_id": f"{UBND},2026/12/08,130/UBND-KT"}
    assert admin(rn, "POST", f"/tasks/{t3}/approve-extension", VIEWER,
                 json=approve).status_code == 403
    r = admin(rn, "POST", f"/tasks/{t3}/approve-extension", OFFICE, json=approve)
    assert r.status_code == 200, r.text
    assert r.json()["deadline"] == "2026-12-20" and r.json()["original_deadline"] == "2026-12-10"
    goto(t, at(12, 18))
    client[KE_HOACH].send(reply(t, KE_HOACH, 80, doc1, (t3,))[1])
    track(t)
    r = admin(rn, "POST", f"/tasks/{t3}/approve-completion", OFFICE,
              json={"reason": "Kết quả đạt yêu cầu"})
    assert r.status_code == 200 and r.json()["state"] == "completed"

    # T2: replied on 21 Dec, refused (the work restarts), replied again on 5 Jan: late.
    goto(t, at(12, 21))
    client[NOI_VU].send(reply(t, NOI_VU, 90, doc1, (t2,))[1])
    track(t)
    r = admin(rn, "POST", f"/tasks/{t2}/refuse-completion", OFFICE,
              json={"reason": "Chưa đủ phương án chi tiết"})
    assert r.status_code == 200 and r.json()["state"] == "received"

    # 29 Dec: the reminders due so far, once: T2 (3 working days before 31 Dec) and T4
    # (3 working days before 4 Jan: 29 Dec, because 1 Jan is a holiday).
    goto(t, at(12, 29, 8))
    reminders = task_parts(t.node).reminders
    assert reminders.run_once() == 2
    assert reminders.run_once() == 0
    detail4 = task(rn, t4)
    assert [d["at"][:16] for d in detail4["documents"] if d["role"] == "reminder"] == [
        "2026-12-29T08:00"]
    track(t)
    notices = [i for i in client[TU_PHAP].pull() if "/NN-TLT" in i["document_id"]]
    assert len(notices) == 1

    # 30 Dec: T4 is due in 2 working days (31 Dec, 4 Jan), not 3.
    goto(t, at(12, 30))
    own = client[TU_PHAP].request("GET", f"/v1/tasks/{t4}").json()
    assert own["working_days_left"] == 2
    with pytest.raises(AgencyApiError) as other:
        client[TU_PHAP].request("GET", f"/v1/tasks/{t1}")
    assert other.value.status == 404
    mine = client[NOI_VU].request("GET", "/v1/tasks").json()
    assert {x["code"] for x in mine["tasks"]} == {t2, t5}
    supported = client[KE_HOACH].request("GET", "/v1/tasks").json()  # lead or supporting
    assert {x["code"] for x in supported["tasks"]} == {t1, t3}

    # 5 Jan: T2 replied again after its deadline; T4 asks an extension too late (13.5).
    goto(t, at(1, 5, year=2027))
    client[NOI_VU].send(reply(t, NOI_VU, 3, doc1, (t2,))[1])
    client[TU_PHAP].send(events(t, TU_PHAP, UBND, doc2, TaskEvent(
        t4, EventType.EXTENSION_REQUESTED, documents=(f"{TU_PHAP},2027/01/05,2/STP",))))
    track(t)
    r = admin(rn, "POST", f"/tasks/{t2}/approve-completion", OFFICE,
              json={"reason": "Đạt yêu cầu"})
    assert r.status_code == 200, r.text
    four = task(rn, t4)["task"]
    assert four["state"] == "received" and four["overdue"] and four["pending_extension"] is None
    refused = [e for e in t.node.store.journal() if e.kind == "task.refused"]
    assert [(e.subject, e.payload["code"]) for e in refused] == [(t4, "task.extension_late")]

    # Every task where the scenarios left it, judged on the deadline in force.
    with task_parts(t.node).store.reading() as tx:
        final = {c: v.task for c, v in tx.tasks([t1, t2, t3, t4, t5]).items()}
    assert {c: x.state.value for c, x in final.items()} == {
        t1: "completed", t2: "completed", t3: "completed", t4: "received", t5: "returned"}
    assert [deadlines.completed_on_time(final[c]) for c in (t1, t2, t3)] == [
        True, False, True]
    office_actions = [e for e in t.node.store.journal()
                      if e.kind.startswith("task.") and e.payload.get("by")]
    assert {(e.payload["by"], e.payload["note"]) for e in office_actions} >= {
        ("test.office", "Lãnh đạo UBND tỉnh đồng ý"), ("test.office", "Đạt yêu cầu")}

    # The report of that period (1 Dec → 14 Jan, as known on 5 Jan) as the CLI and the
    # console make it: every bucket's number, and the tasks behind it (Art. 14.3.đ).
    period = parse_period("2026-12-01..2027-01-14", PeriodConfig())
    made = load_report(task_parts(t.node).store, period, at(1, 5, 12, year=2027)).report
    assert dict(made.total.codes) == {
        Bucket.COMPLETED_ON_TIME: tuple(sorted((t1, t3))),  # T3 against its new deadline
        Bucket.COMPLETED_LATE: (t2,),
        Bucket.OPEN_OVERDUE: (t4,)}  # T5, returned to the Office, is not counted
    rows = {r.agency: dict(r.codes) for r in made.rows}
    assert rows == {TAI_CHINH: {Bucket.COMPLETED_ON_TIME: (t1,)},
                    NOI_VU: {Bucket.COMPLETED_LATE: (t2,)},
                    KE_HOACH: {Bucket.COMPLETED_ON_TIME: (t3,)},
                    TU_PHAP: {Bucket.OPEN_OVERDUE: (t4,)}}
