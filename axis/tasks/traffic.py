"""From accepted traffic to task transitions: what the node's wiring calls once a package
is accepted (and journaled), with the node's acceptance time. Pure: the caller loads the
tasks a package names, calls one function, stores what comes back and journals every
outcome, a refused one included (the refusal is evidence too: an extension asked too
late, Art. 13.5).

- an assigning document accepted → its tasks exist (`tasks_from_document`);
- delivered to an agency → the lead's tasks of that document are received (`on_delivered`);
- a reply accepted (`ResponseForTask/TaskCode`) → replied, awaiting approval, completion
  time = this acceptance (`on_reply`, Art. 13.4);
- a status package with task events accepted → each event applied (`on_status`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from axis import errors
from axis.edxml.model import DocumentPackage, StatusPackage
from axis.errors import AxisError, Finding
from axis.tasks import lifecycle
from axis.tasks.lifecycle import Task
from axis.tasks.model import TaskExtension


@dataclass(frozen=True, slots=True)
class Outcome:
    """One task's result: the changed task (unchanged when nothing happened), or why not."""

    code: str
    task: Task | None = None
    error: AxisError | None = None

    @property
    def changed(self) -> bool:
        return self.task is not None


def check_against_document(package: DocumentPackage, ext: TaskExtension) -> list[Finding]:
    """A task whose lead is not a recipient would never reach it (13.3.a)."""
    recipients = set(package.recipient_ids)
    return [
        errors.TASK_EXTENSION_INVALID.finding(
            f"task {t.code}: lead {t.lead.organ_id} is not a recipient (To)")
        for t in ext.tasks if t.lead.organ_id not in recipients
    ]


def tasks_from_document(package: DocumentPackage, ext: TaskExtension, *,
                        accepted_at: datetime, office: str | None = None) -> tuple[Task, ...]:
    """The tasks an accepted assigning document creates. `office`: the agency that acts as
    the Office for them (default: the document's issuer, in whose name the Office acts)."""
    found = check_against_document(package, ext)
    if found:
        raise errors.TASK_EXTENSION_INVALID.error(found[0].detail, findings=tuple(found))
    return tuple(
        lifecycle.assign(t, document_id=package.header.document_id,
                         office=office or package.sender_id, at=accepted_at)
        for t in ext.tasks
    )


def on_delivered(tasks: tuple[Task, ...], agency: str, at: datetime) -> tuple[Task, ...]:
    """The document's tasks whose lead is `agency`, received (unchanged when already)."""
    return tuple(lifecycle.receive(t, actor=agency, at=at)
                 for t in tasks if t.lead.organ_id == agency)


def on_reply(tasks: Mapping[str, Task], package: DocumentPackage,
             accepted_at: datetime) -> tuple[Outcome, ...]:
    """Each task the reply names (`tasks`: those the store found, by code)."""
    return tuple(
        _attempt(code, tasks, lambda t: lifecycle.reply(
            t, actor=package.sender_id, document_id=package.header.document_id,
            at=accepted_at))
        for code in package.header.response_for_task
    )


def on_status(tasks: Mapping[str, Task], status: StatusPackage, ext: TaskExtension,
              accepted_at: datetime) -> tuple[Outcome, ...]:
    """Each event of the status package, applied in order (a task named twice sees the
    first event's result)."""
    current = dict(tasks)
    out: list[Outcome] = []
    for event in ext.events:
        step = functools.partial(
            lifecycle.apply_event, event=event, actor=status.sender_id, at=accepted_at,
            status_document_id=status.header.response_for.document_id)
        outcome = _attempt(event.task_code, current, step)
        if outcome.task is not None:
            current[event.task_code] = outcome.task
        out.append(outcome)
    return tuple(out)


def _attempt(code: str, tasks: Mapping[str, Task], step: Callable[[Task], Task]) -> Outcome:
    task = tasks.get(code)
    if task is None:
        return Outcome(code, error=errors.TASK_UNKNOWN.error(code))
    try:
        return Outcome(code, task=step(task))
    except AxisError as exc:
        return Outcome(code, error=exc)
