"""Logging (adapters/logs/setup.py): structlog loggers for the edges, one pipeline for all.

`get_logger(name)` gives a structlog logger bound to the stdlib logger `name`: events and
their fields become a stdlib record (`msg` and `extra`), so that they pass the same handler,
filters and rendering as every library's lines, and tests can read them like any record.
"""

from __future__ import annotations

import logging
from typing import cast

import structlog

from adapters.logs.setup import configure, unconfigure, uvicorn_options

__all__ = ["configure", "get_logger", "unconfigure", "uvicorn_options"]


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return cast(structlog.stdlib.BoundLogger, structlog.wrap_logger(
        logging.getLogger(name), processors=[structlog.stdlib.render_to_log_kwargs],
        wrapper_class=structlog.stdlib.BoundLogger))
