"""Reminders of task deadlines, sent as node-signed notices (issue 12, item 4).

A scheduled pass (adapters/jobs/catalog.py, `tasks.remind`) takes the reminder cursor
(the last instant looked at), computes for every task still with the lead the reminders
whose instant falls since then (axis/tasks/deadlines.py: office calendar, configured
offsets, overdue) and sends each as a written notice to the lead agency and to the Office
whose officer follows the task (Art. 13.1.d), in their inboxes like any document.

Exactly once per (task, reminder), across restarts and several workers: the reminder row
(`task_reminders`, unique on task and reminder key), the notice's package, its
deliveries and journal entry, and the cursor's advance commit in ONE transaction; the
cursor row is locked for the pass. A crash before the commit sends nothing and the next
pass sends it; after the commit, the row says it was sent.

The notice's form is the maintenance notices' (axis/route/notices.py): From the
configured agency that operates the node, signed with the node's key. Its number is the
reminder row's serial number, in a register of the node's own (notation `NN-TLT`): the
node issues these notices itself, so it does not take numbers from an agency's register
(Art. 8.3), and a number is never reused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from axis import errors
from axis.calendar import WorkCalendar
from axis.edxml.model import Kind
from axis.edxml.writer import build
from axis.registry.model import Agency
from axis.route import notices
from axis.route.exchange import Exchange
from axis.route.keys import dedupe_key
from axis.route.model import StoredPackage
from axis.tasks import deadlines
from axis.tasks.deadlines import Offset, Reminder, ReminderKind, ReminderPolicy, Unit
from axis.tasks.lifecycle import Task, deadline_end
from axis.tasks.ports import TaskStore, TaskTx

CURSOR = "reminders"
NOTATION = "NN-TLT"  # nhắc nhở – trục liên thông


def parse_offsets(texts: Sequence[str]) -> tuple[Offset, ...]:
    """"3wd" → 3 working days, "1d" → 1 day (settings `tasks.remind_*`)."""
    return tuple(Offset(int(t[:-2]), Unit.WORKING_DAYS) if t.endswith("wd")
                 else Offset(int(t[:-1]), Unit.DAYS) for t in texts)


def policy_of(before: Sequence[str], overdue: Sequence[str]) -> ReminderPolicy:
    return ReminderPolicy(before=parse_offsets(before), overdue=parse_offsets(overdue))


def reminder_key(r: Reminder) -> str:
    """Stable per task and reminder: a new deadline (an approved extension) gives new
    reminders; the same one never a second."""
    unit = "wd" if r.offset.unit is Unit.WORKING_DAYS else "d"
    return f"{r.kind.value}:{r.deadline.isoformat()}:{r.offset.amount}{unit}"


@dataclass(slots=True)
class Reminders:
    store: TaskStore
    exchange: Exchange
    directory: notices.NoticeDirectory
    calendar: WorkCalendar
    policy: ReminderPolicy
    sender_id: str
    signer_fingerprint: str = ""

    def run_once(self) -> int:
        """One pass; the reminders sent (0 when another worker holds the cursor)."""
        now = self.exchange.clock.now()
        with self.store.transaction() as tx:
            cursor = tx.take_cursor(CURSOR)
            if cursor is None:
                return 0
            sent = 0
            for task in tx.open_for_reminders():
                after = max(cursor.at or task.assigned_at, task.assigned_at)
                for r in deadlines.reminders_due(task, after, now, self.calendar,
                                                 self.policy):
                    if r.kind is ReminderKind.BEFORE and now >= deadline_end(r.deadline):
                        continue  # a warning the node was down for: the overdue one tells
                    sent += self._send(tx, task, r, now)
            tx.move_cursor(CURSOR, at=now)
            return sent

    def _send(self, tx: TaskTx, task: Task, r: Reminder, now: datetime) -> int:
        number = tx.claim_reminder(task.code, reminder_key(r), at=r.at, sent_at=now)
        if number is None:
            return 0  # sent by an earlier pass
        sender = self.directory.find(self.sender_id)
        if sender is None or not sender.active:
            raise errors.CONFIG_INVALID.error(
                f"tasks reminder sender {self.sender_id!r} is not an active registered agency")
        to = self._recipients(task)
        notice = notices.check(self._notice(task, r, number, now))
        package = notices.build_notice(notice, sender=sender, to=to, at=now)
        raw = self.exchange.signer.sign(build(package))
        document_id = package.header.document_id
        # Durable before the commit that refers to it (as notices.broadcast).
        sha = self.exchange.blobs.put(raw)
        tx.route.save_package(StoredPackage(
            sha256=sha, size=len(raw), kind=Kind.EDOC, sender_id=sender.agency_id,
            document_id=document_id, received_at=now, signature="node",
            signer_fingerprint=self.signer_fingerprint))
        tx.route.append_journal(now, "task.reminder", task.code, {
            "reminder": reminder_key(r), "kind": r.kind.value, "due": r.at.isoformat(),
            "deadline": r.deadline.isoformat(), "document_id": document_id,
            "recipients": [a.agency_id for a in to], "officer": task.follower.name})
        for agency in to:
            self.exchange.enqueue(tx.route, package, sha, agency.agency_id, now,
                                  dedupe_key(package, agency.agency_id), origin="node")
        tx.set_reminder_document(number, document_id)
        return 1

    def _recipients(self, task: Task) -> list[Agency]:
        out: list[Agency] = []
        for agency_id in dict.fromkeys((task.lead.organ_id, task.office)):
            found = self.directory.find(agency_id)
            if found is not None and found.active:
                out.append(found)
        return out

    def _notice(self, task: Task, r: Reminder, number: int, now: datetime) -> notices.Notice:
        left = deadlines.working_days_left(now.date(), task.deadline, self.calendar)
        day = f"{task.deadline:%d/%m/%Y}"
        if r.kind is ReminderKind.OVERDUE:
            subject_vi = f"Nhiệm vụ {task.code} đã quá hạn (hạn {day})"
            subject_en = f"Task {task.code} is overdue (deadline {task.deadline})"
        else:
            subject_vi = f"Nhắc hạn nhiệm vụ {task.code}: còn {left} ngày làm việc (hạn {day})"
            subject_en = (f"Reminder: task {task.code} is due in {left} working day(s) "
                          f"({task.deadline})")
        officer = task.follower.name + (f" ({task.follower.department})"
                                        if task.follower.department else "")
        text_vi = (f"Nội dung: {task.content}\nCơ quan chủ trì: {task.lead.organ_id}\n"
                   f"Văn bản giao nhiệm vụ: {task.document_id}\nThời hạn: {day}\n"
                   f"Cán bộ theo dõi: {officer}\n"
                   "Kết quả thực hiện gửi bằng văn bản trả lời liên kết với nhiệm vụ "
                   "(Điều 13.3.b); xin gia hạn trước khi hết hạn (Điều 13.5).")
        text_en = (f"Task: {task.content}\nLead agency: {task.lead.organ_id}\n"
                   f"Assigning document: {task.document_id}\nDeadline: {task.deadline}\n"
                   f"Following officer: {officer}\n"
                   "Send the result as a reply linked to the task (Art. 13.3.b); ask for an "
                   "extension before the deadline (Art. 13.5).")
        return notices.Notice(number=str(number), notation=NOTATION,
                              subject_vi=subject_vi[:notices.MAX_SUBJECT],
                              subject_en=subject_en[:notices.MAX_SUBJECT],
                              text_vi=text_vi, text_en=text_en,
                              urgent=r.kind is ReminderKind.OVERDUE)
