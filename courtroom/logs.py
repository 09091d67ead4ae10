"""Log lines for operators: plain text (the default) or one JSON object per line.

``COURTROOM_LOG_FORMAT=json`` (or ``courtroom serve --log-format json``) switches every
logger of the process, uvicorn's included, to JSON with the fields ``ts``, ``level``,
``logger``, ``msg``, ``node`` and, when the line was written on behalf of one, ``hearing``
and ``participant``: ids only. Log messages never carry names, join codes, tokens or
transcript text (docs/operations.md, "Secrets"); this formatter adds nothing but ids.

The ids come from context variables set where work for a hearing starts (the hearing
runtime's tasks, a participant's websocket), so they follow the asyncio tasks made there.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
from datetime import UTC, datetime
from typing import Any

HEARING: contextvars.ContextVar[str] = contextvars.ContextVar("hearing", default="")
PARTICIPANT: contextvars.ContextVar[str] = contextvars.ContextVar("participant", default="")
NODE = os.environ.get("COURTROOM_NODE_ID", "")

FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        hearing = getattr(record, "hearing", "") or HEARING.get()
        participant = getattr(record, "participant", "") or PARTICIPANT.get()
        if hearing:
            line["hearing"] = hearing
        if participant:
            line["participant"] = participant
        if NODE:
            line["node"] = NODE
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def log_format() -> str:
    value = os.environ.get("COURTROOM_LOG_FORMAT", "text").strip().lower() or "text"
    if value not in FORMATS:
        raise ValueError(f"COURTROOM_LOG_FORMAT must be one of {', '.join(FORMATS)}")
    return value


def log_config(fmt: str, level: str = "INFO") -> dict[str, Any] | None:
    """A ``logging.config.dictConfig`` for uvicorn's ``log_config``; None keeps uvicorn's."""
    if fmt == "text":
        return None
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            name: {"handlers": [], "level": level, "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def hearing_context(hearing_id: str) -> contextvars.Context:
    """A fresh context for a hearing's own tasks: its id, and no participant's."""
    context = contextvars.Context()
    context.run(HEARING.set, hearing_id)
    return context


def in_hearing(hearing_id: str, participant_id: str = "") -> None:
    """Tag this task's later log lines (and the tasks it makes) with these ids."""
    HEARING.set(hearing_id)
    if participant_id:
        PARTICIPANT.set(participant_id)
