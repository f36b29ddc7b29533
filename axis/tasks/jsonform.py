"""The task extension as JSON: what a person or an API client writes to describe tasks
or task events (`axis edxml new --tasks FILE`), read strictly into the frozen values.

    tasks:  [{"code"?: str, "content": str, "lead": ID | {"organ_id", "name"?},
              "supporting"?: [ID | {...}], "deadline": "YYYY-MM-DD",
              "follower": NAME | {"name", "staff_id"?, "department"?, "email"?,
                                  "telephone"?}}]
    events: [{"task": CODE, "type": "received" | …, "reason"?: str,
              "new_deadline"?: "YYYY-MM-DD", "documents"?: [DOCUMENT_ID]}]

A task without a code gets one from `mint` (its position, from 1). Anything else is
`task.extension_invalid` naming the entry; the XSD and its rules then check the values
when the extension is added to a package (`extension.add_extension`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from axis import errors
from axis.tasks.model import Agency, EventType, Officer, TaskEntry, TaskEvent, TaskExtension

_TASK_KEYS = frozenset({"code", "content", "lead", "supporting", "deadline", "follower"})
_EVENT_KEYS = frozenset({"task", "type", "reason", "new_deadline", "documents"})
_OFFICER_KEYS = frozenset({"name", "staff_id", "department", "email", "telephone"})


def tasks_from_json(data: Any, *, mint: Callable[[int], str]) -> TaskExtension:
    items = _list(data, "tasks")
    return TaskExtension(tasks=tuple(_task(item, i, mint) for i, item in enumerate(items, 1)))


def events_from_json(data: Any) -> TaskExtension:
    items = _list(data, "events")
    return TaskExtension(events=tuple(_event(item, i) for i, item in enumerate(items, 1)))


def _task(item: Any, i: int, mint: Callable[[int], str]) -> TaskEntry:
    where = f"task {i}"
    obj = _object(item, _TASK_KEYS, where)
    return TaskEntry(
        code=_str(obj.get("code"), f"{where}: code", required=False) or mint(i),
        content=_str(obj.get("content"), f"{where}: content"),
        lead=_agency(obj.get("lead"), f"{where}: lead"),
        supporting=tuple(_agency(a, f"{where}: supporting")
                         for a in _list(obj.get("supporting", []), f"{where}: supporting")),
        deadline=_date(obj.get("deadline"), f"{where}: deadline"),
        follower=_officer(obj.get("follower"), f"{where}: follower"),
    )


def _event(item: Any, i: int) -> TaskEvent:
    where = f"event {i}"
    obj = _object(item, _EVENT_KEYS, where)
    kind = _str(obj.get("type"), f"{where}: type")
    try:
        event_type = EventType(kind)
    except ValueError:
        raise _bad(f"{where}: type {kind!r} is not one of "
                   f"{', '.join(t.value for t in EventType)}") from None
    deadline = obj.get("new_deadline")
    return TaskEvent(
        task_code=_str(obj.get("task"), f"{where}: task"),
        type=event_type,
        reason=_str(obj.get("reason"), f"{where}: reason", required=False),
        new_deadline=_date(deadline, f"{where}: new_deadline") if deadline is not None else None,
        documents=tuple(_str(d, f"{where}: documents")
                        for d in _list(obj.get("documents", []), f"{where}: documents")),
    )


def _agency(value: Any, where: str) -> Agency:
    if isinstance(value, str):
        return Agency(_str(value, where))
    obj = _object(value, frozenset({"organ_id", "name"}), where)
    return Agency(_str(obj.get("organ_id"), f"{where}: organ_id"),
                  _str(obj.get("name"), f"{where}: name", required=False))


def _officer(value: Any, where: str) -> Officer:
    if isinstance(value, str):
        return Officer(_str(value, where))
    obj = _object(value, _OFFICER_KEYS, where)
    return Officer(**{k: _str(obj.get(k), f"{where}: {k}", required=k == "name")
                      for k in _OFFICER_KEYS})


def _object(value: Any, keys: frozenset[str], where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _bad(f"{where}: an object expected")
    unknown = sorted(set(value) - keys)
    if unknown:
        raise _bad(f"{where}: unknown {', '.join(unknown)}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _bad(f"{where}: a list expected")
    return value


def _str(value: Any, where: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise _bad(f"{where}: a non-empty string expected")
    return value.strip()


def _date(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(_str(value, where))
    except ValueError:
        raise _bad(f"{where}: {value!r} is not a date YYYY-MM-DD") from None


def _bad(detail: str) -> errors.AxisError:
    return errors.TASK_EXTENSION_INVALID.error(detail)
