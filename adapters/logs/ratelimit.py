"""Repeated faults, rate-limited: a dead broker must not print the same line every second.

A record is limited when it carries a `rate_key` (the node's background loops set one per
kind of failure, axis/health.py), or when it is a warning or worse from a library's logger
(pika, uvicorn …), keyed by its logger and message template. The node's own refusals
and faults without a key are never limited: each has an error id a caller was given.

Per key: the first record passes; repeats within `interval_s` are counted and dropped; the
first repeat after the interval passes with `suppressed_repeats` (how many were dropped
since the last line that passed): at most one line per interval, with the count.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

MAX_KEYS = 1_000  # distinct keys remembered (least recently seen forgotten first)


@dataclass(slots=True)
class _Seen:
    window_start: float
    suppressed: int = 0


class RepeatFilter(logging.Filter):
    def __init__(
        self, interval_s: float = 60.0, *, monotonic: Callable[[], float] = time.monotonic,
        own_prefix: str = "axis",
    ) -> None:
        super().__init__()
        self.interval_s = interval_s
        self._monotonic = monotonic
        self._own_prefix = own_prefix
        self._seen: OrderedDict[tuple[str, str], _Seen] = OrderedDict()
        self._lock = threading.Lock()

    def _key(self, record: logging.LogRecord) -> tuple[str, str] | None:
        key = getattr(record, "rate_key", None)
        if key:
            return ("key", str(key))
        own = record.name == self._own_prefix or record.name.startswith(self._own_prefix + ".")
        if record.levelno >= logging.WARNING and not own:
            return (record.name, str(record.msg))
        return None

    def filter(self, record: logging.LogRecord) -> bool:
        key = self._key(record)
        if key is None:
            return True
        now = self._monotonic()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen.window_start < self.interval_s:
                seen.suppressed += 1
                self._seen.move_to_end(key)
                return False
            if seen is not None and seen.suppressed:
                record.suppressed_repeats = seen.suppressed
                record.repeat_interval_s = self.interval_s
            self._seen[key] = _Seen(now)
            self._seen.move_to_end(key)
            while len(self._seen) > MAX_KEYS:
                self._seen.popitem(last=False)
        return True
