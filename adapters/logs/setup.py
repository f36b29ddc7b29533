"""One logging pipeline for the process, through structlog.

Every line — the node's own (structlog loggers from `adapters.logs.get_logger`, and the
core's stdlib loggers with `extra=` fields), uvicorn's, APScheduler's, pika's — is a stdlib
`LogRecord` rendered by one structlog `ProcessorFormatter` on one handler:

- `json` (the default when stderr is not a terminal): one JSON object per line;
  `console` (a terminal, or `log_format = "console"` / `AXIS_LOG_FORMAT=console`): aligned,
  coloured when the stream is a terminal;
- `timestamp`: ISO 8601 in Vietnam time, `+07:00`, to the millisecond, the offset every
  time the node writes uses;
- `level`, `logger`, `event`, then the record's fields (`extra=`), and `request_id`
  wherever a request is being served (structlog's context variables, bound by the access
  middleware, adapters/rest/access.py);
- repeated faults rate-limited (adapters/logs/ratelimit.py).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from adapters.logs.ratelimit import RepeatFilter
from axis.clock import VN_TZ

FORMATS = ("auto", "json", "console")
# Fields that only repeat the message (uvicorn's coloured copy; `message` and `asctime`
# when another handler formatted the record first) and our own routing hint.
_NOISE = ("color_message", "message", "asctime", "rate_key")
_FIRST = ("timestamp", "level", "logger", "event", "request_id")


def _timestamp(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    record = event.get("_record")
    created = record.created if isinstance(record, logging.LogRecord) else time.time()
    event["timestamp"] = datetime.fromtimestamp(created, VN_TZ).isoformat(
        timespec="milliseconds")
    return event


def _tidy(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    for key in _NOISE:
        event.pop(key, None)
    # The reader's order: when, how bad, who, what; then the fields.
    ordered = {k: event.pop(k) for k in _FIRST if k in event}
    ordered.update(event)
    return ordered


def renderer_for(fmt: str, stream: TextIO) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r}: one of {', '.join(FORMATS)}")
    if fmt != "auto":
        return fmt
    return "console" if _isatty(stream) else "json"


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def make_handler(
    *, fmt: str = "auto", stream: TextIO | None = None, repeat_interval_s: float = 60.0,
    monotonic: Callable[[], float] = time.monotonic,
) -> logging.Handler:
    """The handler: structlog formatting and the repeat filter, writing to `stream`."""
    out = stream or sys.stderr
    chosen = renderer_for(fmt, out)
    pre_chain: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _timestamp,
    ]
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if chosen == "json":
        final += [structlog.processors.format_exc_info, _tidy,
                  structlog.processors.JSONRenderer(ensure_ascii=False)]
    else:
        # Plain tracebacks: rich's would print every frame's locals (secrets among them).
        final += [_tidy, structlog.dev.ConsoleRenderer(
            colors=_isatty(out), exception_formatter=structlog.dev.plain_traceback)]
    handler = logging.StreamHandler(out)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=pre_chain, processors=final))
    handler.addFilter(RepeatFilter(repeat_interval_s, monotonic=monotonic))
    handler.set_name("axis")
    return handler


def configure(
    *, fmt: str = "auto", level: str = "info", stream: TextIO | None = None,
    repeat_interval_s: float = 60.0, monotonic: Callable[[], float] = time.monotonic,
) -> logging.Handler:
    """Route every logger of the process to one structlog handler (replacing a previous
    one of ours); returns it (`unconfigure` takes it away again, for tests)."""
    handler = make_handler(fmt=fmt, stream=stream, repeat_interval_s=repeat_interval_s,
                           monotonic=monotonic)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "axis"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Uvicorn's loggers propagate to the root (uvicorn is run with log_config=None); its
    # own access log is off, replaced by ours. APScheduler says "Running job" at INFO on
    # every run: the job's own outcome is logged (adapters/jobs), its chatter is not.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return handler


def unconfigure(handler: logging.Handler) -> None:
    logging.getLogger().removeHandler(handler)
    handler.close()


def uvicorn_options() -> dict[str, Any]:
    """What `uvicorn.run` needs to log through this pipeline: no config of its own, no
    access log (adapters/rest/access.py writes one line per request instead)."""
    return {"log_config": None, "access_log": False}
