"""One correlation id per user action, CLI command, background job and order.

The id lives in a contextvar, so it follows the code that runs on behalf of one action: nested
calls see it, and code started from it inherits it (see ``propagate`` helpers in this package for
threads and process pools). Every row in the five log tables carries it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_current: ContextVar[str | None] = ContextVar("workstation_correlation_id", default=None)


def new_correlation_id(prefix: str = "") -> str:
    """A fresh id: an optional short prefix naming its origin (``cli``, ``gui``, ``job``, ``bar``) and 16 hex."""
    token = uuid.uuid4().hex[:16]
    return f"{prefix}-{token}" if prefix else token


def current_correlation_id() -> str | None:
    return _current.get()


@contextmanager
def correlation_scope(correlation_id: str | None = None, *, prefix: str = "", inherit: bool = True) -> Iterator[str]:
    """Run a block under a correlation id.

    With no id given, an enclosing scope's id is kept when ``inherit`` is true (work started from a
    job belongs to that job); otherwise a new one is made.
    """
    cid = correlation_id or (_current.get() if inherit else None) or new_correlation_id(prefix)
    token = _current.set(cid)
    try:
        yield cid
    finally:
        _current.reset(token)
