"""Task tracking's parts, built from a node (issue 12): the store on the route store's
engine (one transaction holds task rows, journal entries and deliveries), the tracker,
the reminder job and the operations the edges call. Built where they are used (the
background's jobs, the REST routers) from the node's own parts and settings."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.node import Node
from adapters.store.task_repo import SqlTaskStore
from axis.app.tasks import TaskOperations
from axis.tasks.reminding import Reminders, policy_of
from axis.tasks.tracker import Tracker
from axis.trust.verdict import fingerprint


@dataclass(frozen=True, slots=True)
class TaskParts:
    store: SqlTaskStore
    tracker: Tracker
    reminders: Reminders
    operations: TaskOperations


def task_parts(node: Node) -> TaskParts:
    settings = node.settings
    store = SqlTaskStore(node.store.engine)
    clock = node.exchange.clock
    tracker = Tracker(store, node.exchange.blobs, clock, limits=settings.edxml)
    reminders = Reminders(
        store=store, exchange=node.exchange, directory=node.registry,
        calendar=node.calendar,
        policy=policy_of(settings.tasks.remind_before, settings.tasks.remind_overdue),
        sender_id=settings.tasks.reminder_sender_id or settings.admin.notice_sender_id,
        signer_fingerprint=fingerprint(node.signer.cert))
    return TaskParts(store, tracker, reminders, TaskOperations(store, clock, node.calendar))
