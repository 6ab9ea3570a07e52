"""What one log row looks like on its way to the database: building, cleaning and (de)serialising it.

A row is a plain dict keyed by column name (``metadata`` for the JSON column) for one of the five
log tables. Rows are built cheaply on the caller's thread (or from a LogRecord on the writer's),
cleaned on the writer's thread (secrets redacted, strings cut to their column's length, level names
made valid), and written to the database or, during an outage, to the JSONL spill file.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, String, Table

from workstation.db.logs import ErrorLog, PerformanceLog, SystemLog, TradingEvent, UserActionLog
from workstation.db.types import UTCDateTime, json_safe
from workstation.monitoring.redaction import Redactor

LOG_TABLES: dict[str, Table] = {
    cls.__tablename__: cls.__table__  # type: ignore[misc]
    for cls in (SystemLog, TradingEvent, PerformanceLog, ErrorLog, UserActionLog)
}
SYSTEM_LOGS, TRADING_EVENTS, PERFORMANCE_LOGS, ERROR_LOGS, USER_ACTION_LOGS = LOG_TABLES

# Free-text columns that may carry a secret; identifiers (logger, module, symbol …) are left alone.
_TEXT_COLUMNS = {
    SYSTEM_LOGS: ("message",),
    TRADING_EVENTS: (),
    PERFORMANCE_LOGS: ("operation_name",),
    ERROR_LOGS: ("error_message", "stack_trace", "request_path"),
    USER_ACTION_LOGS: ("request_path", "user_agent"),
}
_STANDARD_LEVELS = ((50, "CRITICAL"), (40, "ERROR"), (30, "WARNING"), (20, "INFO"), (0, "DEBUG"))


@dataclass(frozen=True)
class TableShape:
    """Column facts the writer needs, read once from the table definition."""

    name: str
    columns: tuple[str, ...]
    lengths: dict[str, int]
    datetimes: frozenset[str]
    decimals: frozenset[str]


def _shape(table: Table) -> TableShape:
    columns = tuple(c.name for c in table.columns if c.name not in ("id", "created_at"))
    lengths = {
        c.name: int(c.type.length) for c in table.columns if isinstance(c.type, String) and c.type.length is not None
    }
    datetimes = frozenset(c.name for c in table.columns if isinstance(c.type, UTCDateTime) and c.name in columns)
    decimals = frozenset(c.name for c in table.columns if isinstance(c.type, Numeric) and c.name in columns)
    return TableShape(table.name, columns, lengths, datetimes, decimals)


SHAPES: dict[str, TableShape] = {name: _shape(table) for name, table in LOG_TABLES.items()}


def level_name(levelno: int) -> str:
    """The standard level at or below ``levelno`` (custom levels such as 25 or 5 fit the table's CHECK)."""
    for number, name in _STANDARD_LEVELS:
        if levelno >= number:
            return name
    return "DEBUG"


def log_record_rows(item: tuple[Any, ...]) -> list[tuple[str, dict[str, Any]]]:
    """The system_logs row for a queued log item, plus an error_logs row when it carries an exception at ERROR+.

    ``item`` is what DatabaseLogHandler.emit queues: ("L", name, levelno, created, message, module,
    function, line, thread name, process id, correlation id, exception, stack info, extra metadata).
    """
    (_, name, levelno, created, message, module, function, line, thread, process, cid, exc, stack, extra) = item
    timestamp = datetime.fromtimestamp(created, UTC)
    metadata: dict[str, Any] | None = dict(extra) if isinstance(extra, dict) else None
    if exc is not None:
        metadata = {**(metadata or {}), "exception": exc[0]}
    if stack:
        metadata = {**(metadata or {}), "stack": stack}
    rows: list[tuple[str, dict[str, Any]]] = [
        (
            SYSTEM_LOGS,
            {
                "timestamp": timestamp,
                "correlation_id": cid,
                "metadata": metadata,
                "level": level_name(levelno),
                "logger_name": name,
                "message": message,
                "module": module,
                "function_name": function,
                "line_number": line,
                "thread_name": thread,
                "process_id": process,
            },
        )
    ]
    if exc is not None and levelno >= logging.ERROR:
        rows.append(
            (
                ERROR_LOGS,
                {
                    "timestamp": timestamp,
                    "correlation_id": cid,
                    "metadata": {"logger": name, "log_message": message},
                    "error_type": exc[1],
                    "error_message": exc[2],
                    "stack_trace": exc[0],
                    "component": name,
                    "user_id": None,
                    "request_path": None,
                },
            )
        )
    return rows


def qualified_name(exc_type: type[BaseException]) -> str:
    module = exc_type.__module__
    return exc_type.__qualname__ if module in ("builtins", "__main__") else f"{module}.{exc_type.__qualname__}"


# Per table: the text columns to redact, the (column, length) limits, all columns (precomputed: hot path).
_PLANS = {
    name: (_TEXT_COLUMNS[name], tuple(shape.lengths.items()), shape.columns, len(shape.columns))
    for name, shape in SHAPES.items()
}


def clean_row(table: str, row: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    """Redact secrets, fit strings to their columns and give every column a value (in place)."""
    text_columns, lengths, columns, width = _PLANS[table]
    for column in text_columns:
        value = row.get(column)
        if value and isinstance(value, str):
            row[column] = redactor.text(value)
    metadata = row.get("metadata")
    if metadata is not None:
        row["metadata"] = json_safe(redactor.metadata(metadata))
    for column, length in lengths:
        value = row.get(column)
        if value is not None and isinstance(value, str) and len(value) > length:
            row[column] = value[: length - 1] + "…"
    if len(row) < width:
        for column in columns:
            row.setdefault(column, None)
    if row["timestamp"] is None:
        row["timestamp"] = datetime.now(UTC)
    return row


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def encode_spill(table: str, row: dict[str, Any]) -> str:
    """One JSONL line for the spill file."""
    return json.dumps({"t": table, "r": row}, default=_json_default, ensure_ascii=False, separators=(",", ":"))


def decode_spill(line: str) -> tuple[str, dict[str, Any]]:
    payload = json.loads(line)
    table = str(payload["t"])
    shape = SHAPES[table]
    row: dict[str, Any] = payload["r"]
    for column in shape.columns:  # rows spilled by an older version may lack newer columns
        row.setdefault(column, None)
    for column in shape.datetimes:
        if isinstance(row.get(column), str):
            row[column] = datetime.fromisoformat(row[column])
    for column in shape.decimals:
        if row.get(column) is not None:
            row[column] = Decimal(str(row[column]))
    return table, row
