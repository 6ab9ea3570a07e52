"""Keep secrets out of every log row and spill file.

Two nets: known secret *values* (the Alpaca keys from the environment, anything passed to
``register_secret``, passwords inside URLs) are replaced wherever they appear in text, and values
under key-like *names* in metadata (``api_key``, ``secret``, ``password``, ``token``,
``authorization`` …) are replaced whatever they contain.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from typing import Any

REDACTED = "***"

# Environment variables whose values are always secrets when set.
SECRET_ENV_VARS = ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY", "ALPACA_API_KEY", "ALPACA_SECRET_KEY", "PGPASSWORD")
# Other environment variables are secrets when their *name* says so.
_SECRET_ENV_NAME = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY)", re.IGNORECASE)
# Metadata keys whose values are never stored.
_SECRET_FIELD = re.compile(r"(key|secret|password|passwd|pwd|token|authorization|credential|cookie|signature)", re.I)
# Secrets that show up in free text whatever their value: URL passwords, auth headers, key=value pairs.
_TEXT_PATTERNS = (
    re.compile(r"(?P<head>\b[a-z][a-z0-9+.\-]*://[^:/@\s]*:)(?P<secret>[^@\s]+)(?P<tail>@)", re.I),
    re.compile(
        r"(?P<head>\b(?:authorization|proxy-authorization)\s*[:=]\s*(?:bearer|basic|token)?\s*)"
        r"(?P<secret>[^\s,;'\"]+)",
        re.I,
    ),
    re.compile(
        r"(?P<head>\b(?:apca[-_]api[-_](?:key[-_]id|secret[-_]key)|api[-_]?key|api[-_]?secret|secret[-_]?key"
        r"|access[-_]?token|refresh[-_]?token|password|passwd|secret|token)\b['\"]?\s*[:=]\s*['\"]?)"
        r"(?P<secret>[^\s,;'\"&}]+)",
        re.I,
    ),
)
# A cheap first look: only text that contains one of these words can match _TEXT_PATTERNS.
_TEXT_TRIGGER = re.compile(r"://[^/@\s]*:|authori|key|secret|token|passw", re.IGNORECASE)
# Values shorter than this are not treated as secrets by value (they would blank out ordinary words).
MIN_SECRET_LENGTH = 6


class Redactor:
    """Replaces secrets in text and metadata; thread-safe, cheap when there is nothing to do."""

    def __init__(self) -> None:
        self._registered: set[str] = set()
        self._lock = threading.Lock()
        self._values: tuple[str, ...] = ()
        self._pattern: re.Pattern[str] | None = None
        # None forces a rebuild: an empty tuple is also what a process without secret variables reads,
        # so it cannot mark "stale" (a key registered after the first rebuild would never be redacted).
        self._env_snapshot: tuple[tuple[str, str], ...] | None = None

    def register(self, value: str | None) -> None:
        if value and len(value) >= MIN_SECRET_LENGTH:
            with self._lock:
                if value not in self._registered:
                    self._registered.add(value)
                    self._env_snapshot = None  # force a rebuild

    def refresh(self) -> None:
        """Re-read the environment; called once per batch by the writer, not per row."""
        env = tuple(
            (name, value)
            for name, value in os.environ.items()
            if value and (name in SECRET_ENV_VARS or _SECRET_ENV_NAME.search(name))
        )
        if env == self._env_snapshot:
            return
        with self._lock:
            values = {v for _, v in env if len(v) >= MIN_SECRET_LENGTH} | self._registered
            self._env_snapshot = env
            self._values = tuple(sorted(values, key=len, reverse=True))
            self._pattern = re.compile("|".join(re.escape(v) for v in self._values)) if self._values else None

    def text(self, value: str | None) -> str | None:
        if not value:
            return value
        pattern_ = self._pattern
        if pattern_ is not None and pattern_.search(value):
            value = pattern_.sub(REDACTED, value)
        if not _TEXT_TRIGGER.search(value):
            return value
        for pattern in _TEXT_PATTERNS:
            if pattern.search(value):
                value = pattern.sub(lambda m: f"{m.group('head')}{REDACTED}{m.groupdict().get('tail') or ''}", value)
        return value

    def metadata(self, value: Any) -> Any:
        """A copy of ``value`` with secret fields blanked and secret values replaced in every string."""
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, item in value.items():
                name = str(key)
                if item is not None and not isinstance(item, bool) and _SECRET_FIELD.search(name):
                    out[name] = REDACTED
                else:
                    out[name] = self.metadata(item)
            return out
        if isinstance(value, list | tuple):
            return [self.metadata(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value


_redactor = Redactor()


def redactor() -> Redactor:
    """The process-wide redactor the writer uses."""
    return _redactor


def register_secret(value: str | None) -> None:
    """Never store ``value`` in any log table or spill file (e.g. a key read from the keyring)."""
    _redactor.register(value)
    _redactor.refresh()


def register_secrets(values: Iterable[str | None]) -> None:
    for value in values:
        _redactor.register(value)
    _redactor.refresh()


def redact_text(value: str) -> str:
    _redactor.refresh()
    return _redactor.text(value) or ""


def redact_metadata(value: Any) -> Any:
    _redactor.refresh()
    return _redactor.metadata(value)


def redact_argv(argv: Iterable[str]) -> list[str]:
    """A command line fit to store: the value after (or in) an option named like a secret
    (``--api-key X``, ``--password=X``) is replaced, and every word goes through the text net."""
    out: list[str] = []
    hide_next = False
    for word in argv:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        if word.startswith("--") and _SECRET_FIELD.search(word.split("=", 1)[0]):
            if "=" in word:
                out.append(word.split("=", 1)[0] + "=" + REDACTED)
            else:
                out.append(word)
                hide_next = True
            continue
        out.append(redact_text(word))
    return out
