"""A logging.Handler that hands records to the background writer and returns at once."""

from __future__ import annotations

import logging

from workstation.monitoring.correlation import current_correlation_id
from workstation.monitoring.rows import qualified_name
from workstation.monitoring.writer import LogWriter

_formatter = logging.Formatter()


class DatabaseLogHandler(logging.Handler):
    """Queues each record for system_logs (and error_logs when it carries an exception at ERROR or above).

    The caller pays for formatting the message (so later changes to the arguments cannot alter
    what was logged), reading the correlation id and one deque append; everything else happens
    on the writer's thread.
    """

    def __init__(self, writer: LogWriter, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self._submit = writer.submit

    def handle(self, record: logging.LogRecord) -> bool:
        # The base class takes a lock around emit(); the writer's queue is thread-safe, so skip it.
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        try:
            exc = None
            exc_info = record.exc_info
            if exc_info and exc_info[0] is not None:
                exc = (_formatter.formatException(exc_info), qualified_name(exc_info[0]), str(exc_info[1]))
            # Plain values only: the record itself is freed at once, and a tuple of strings and
            # numbers is not tracked by the garbage collector while it waits in the queue.
            self._submit(
                (
                    "L",
                    record.name,
                    record.levelno,
                    record.created,
                    record.getMessage(),
                    record.module,
                    record.funcName,
                    record.lineno,
                    record.threadName,
                    record.process,
                    getattr(record, "correlation_id", None) or current_correlation_id(),
                    exc,
                    record.stack_info,
                    getattr(record, "monitoring_metadata", None),
                )
            )
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)
