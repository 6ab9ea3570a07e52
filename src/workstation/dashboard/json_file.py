"""Small JSON documents in the user data directory (watchlists, chart drawings): read whole, written atomically.

A write goes to a temporary file next to the target and replaces it in one step, so a crash never
leaves half a file; a file that cannot be parsed is moved aside (``name.json.bad``) and treated as
empty rather than stopping the window from starting.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        logger.warning("%s is unreadable (%s): moved aside and started empty", path, exc)
        with contextlib.suppress(OSError):  # a read-only directory: read it as empty all the same
            path.replace(path.with_name(path.name + ".bad"))
        return {}
    return loaded if isinstance(loaded, dict) else {}


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=1, sort_keys=True, ensure_ascii=False)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
