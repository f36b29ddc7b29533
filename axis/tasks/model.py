"""Frozen values of the task extension (docs/tasks.md, `axis-tasks-1.xsd`).

What travels: the tasks an assigning document carries (Art. 13.1: lead agency, content,
deadline, the Office's following officer; supporting agencies, Art. 14.4.b) and the task
events that travel as status packages. The record the node keeps of a task, and its
states, are in `axis.tasks.lifecycle`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Final

from axis.edxml.model import StatusCode

TASKS_NS: Final = "urn:axis-node:edxml:tasks:1"
TASKS_VERSION: Final = "1.0"
SCHEMA_FILE: Final = "axis-tasks-1.xsd"

# The XSD's TaskCode pattern, for values built in code (the XSD checks what is read).
TASK_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:\-]{0,63}", re.ASCII)


class EventType(str, Enum):
    """A task event carried by a status package (`Event/Type`)."""

    RECEIVED = "received"  # the lead agency has the task (Art. 13.3.a)
    RETURNED = "returned"  # returned to the Office: assigned to the wrong agency (13.3.a)
    EXTENSION_REQUESTED = "extension-requested"  # within the deadline (13.5)
    EXTENSION_APPROVED = "extension-approved"  # with the new deadline (13.5)
    EXTENSION_REFUSED = "extension-refused"
    COMPLETION_APPROVED = "completion-approved"  # (13.3.c)
    COMPLETION_REFUSED = "completion-refused"  # the work restarts (13.3.c)
    SUPPORT_REFUSED = "support-refused"  # by a supporting agency, with reasons (14.4.b)


# Who may send each event: the lead agency, the Office (the assigning document's issuer)
# or a supporting agency. The lifecycle enforces it; docs/tasks.md lists it.
SENT_BY_LEAD: Final = frozenset({
    EventType.RECEIVED, EventType.RETURNED, EventType.EXTENSION_REQUESTED})
SENT_BY_OFFICE: Final = frozenset({
    EventType.EXTENSION_APPROVED, EventType.EXTENSION_REFUSED,
    EventType.COMPLETION_APPROVED, EventType.COMPLETION_REFUSED})
SENT_BY_SUPPORTING: Final = frozenset({EventType.SUPPORT_REFUSED})
# A reason is required where the regulation asks for one in writing.
REASON_REQUIRED: Final = frozenset({EventType.RETURNED, EventType.SUPPORT_REFUSED})

# The StatusCode a status package carrying the event should have, so that a receiver that
# ignores the extension still reads something true about the document the status names
# (docs/tasks.md, "Status codes"). Support refused is a written refusal with reasons of
# the lead's request (14.4.b): 02, its reason also in Description (Art. 6.4).
STATUS_FOR_EVENT: Final = {
    EventType.RECEIVED: StatusCode.REGISTERED,
    EventType.RETURNED: StatusCode.IN_PROGRESS,
    EventType.EXTENSION_REQUESTED: StatusCode.IN_PROGRESS,
    EventType.EXTENSION_APPROVED: StatusCode.DONE,
    EventType.EXTENSION_REFUSED: StatusCode.DONE,
    EventType.COMPLETION_APPROVED: StatusCode.DONE,
    EventType.COMPLETION_REFUSED: StatusCode.IN_PROGRESS,
    EventType.SUPPORT_REFUSED: StatusCode.REFUSED,
}


@dataclass(frozen=True, slots=True)
class Agency:
    organ_id: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class Officer:
    """The Office's officer who follows the task (Art. 13.1.d)."""

    name: str
    staff_id: str = ""
    department: str = ""
    email: str = ""
    telephone: str = ""


@dataclass(frozen=True, slots=True)
class TaskEntry:
    """One task as the assigning document states it (Art. 13.1)."""

    code: str
    content: str
    lead: Agency
    deadline: date
    follower: Officer
    supporting: tuple[Agency, ...] = ()


@dataclass(frozen=True, slots=True)
class TaskEvent:
    """One event about one task, as a status package states it.

    `new_deadline`: the deadline asked for (extension-requested, optional) or granted
    (extension-approved, required). `documents`: the DocumentIds it relies on: the
    extension-request document (13.5), the approving document, the reply being judged.
    """

    task_code: str
    type: EventType
    reason: str = ""
    new_deadline: date | None = None
    documents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TaskExtension:
    """What one package carries: tasks (a document) or events (a status package)."""

    tasks: tuple[TaskEntry, ...] = ()
    events: tuple[TaskEvent, ...] = ()
    version: str = TASKS_VERSION

    @property
    def empty(self) -> bool:
        return not self.tasks and not self.events
