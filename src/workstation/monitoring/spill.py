"""The local JSONL spill: where rows wait while the database is unreachable.

Each process appends to its own files, named ``<kind>-<pid>-<process start ms>-<created ns>.jsonl``,
so a file whose owner is gone can be recognised and adopted by the next process that writes to the
same database. Replay reads a file from its acknowledged offset; the offset is saved next to it
(``.offset``) after every batch the database committed, so nothing is replayed twice within a run
and, after a crash, at most the one batch in flight at that instant could be.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

import psutil
from sqlalchemy.engine import URL

from workstation.paths import user_data_dir

SPILL_DIR_NAME = "log-spill"


def spill_dir_for(url: URL) -> Path:
    """The spill directory for one database: rows are only ever replayed into the database they were for."""
    key = url.render_as_string(hide_password=True)
    return user_data_dir() / SPILL_DIR_NAME / hashlib.sha256(key.encode()).hexdigest()[:16]


def _process_stamp(pid: int) -> int | None:
    try:
        return int(psutil.Process(pid).create_time() * 1000)
    except (psutil.Error, OSError):
        return None


@dataclass(frozen=True)
class SpillBatch:
    path: Path
    end_offset: int
    lines: list[str]


class SpillStore:
    """Append-only spill files with acknowledged replay offsets. All methods are thread-safe."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._stamp = _process_stamp(self._pid) or 0
        self._own: Path | None = None
        self._own_handle: TextIO | None = None
        self._pending: list[Path] = []
        self._offsets: dict[Path, int] = {}
        self.spilled_rows = 0
        self.replayed_rows = 0

    # -- writing ---------------------------------------------------------------------------------
    def append(self, lines: list[str]) -> None:
        if not lines:
            return
        with self._lock:
            handle = self._open_own()
            handle.write("\n".join(lines) + "\n")
            handle.flush()
            self.spilled_rows += len(lines)

    def _open_own(self) -> TextIO:
        if self._own is None or self._own_handle is None:  # start a new file
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"spill-{self._pid}-{self._stamp}-{_monotonic_ns()}.jsonl"
            self._own = path
            self._own_handle = path.open("a", encoding="utf-8")
            self._pending.append(path)
            self._offsets[path] = 0
        return self._own_handle

    # -- replay ----------------------------------------------------------------------------------
    def has_pending(self) -> bool:
        with self._lock:
            return bool(self._pending)

    def adopt_orphans(self) -> int:
        """Take over spill files left by processes that have exited; returns how many were adopted."""
        if not self.directory.is_dir():
            return 0
        adopted: list[Path] = []
        for path in sorted(self.directory.glob("*.jsonl")):
            parts = path.stem.split("-")
            if len(parts) != 4 or not all(p.isdigit() for p in parts[1:]):
                continue
            pid, stamp, created = int(parts[1]), int(parts[2]), parts[3]
            if pid == self._pid and stamp == self._stamp:
                continue
            if _process_stamp(pid) == stamp:  # its owner is alive and writing it
                continue
            target = self.directory / f"claimed-{self._pid}-{self._stamp}-{created}.jsonl"
            try:
                os.rename(path, target)  # atomic: of two processes adopting, one wins
            except FileNotFoundError:
                continue
            offset_file = path.with_suffix(".offset")
            if offset_file.exists():
                os.replace(offset_file, target.with_suffix(".offset"))
            adopted.append(target)
        if adopted:
            with self._lock:
                # Older files (by creation time) replay first, before anything this process spilled.
                adopted.sort(key=lambda p: int(p.stem.split("-")[3]))
                self._pending[:0] = adopted
                for path in adopted:
                    self._offsets[path] = _read_offset(path)
        return len(adopted)

    def read_batch(self, max_rows: int) -> SpillBatch | None:
        """The next rows to replay, oldest first (None when everything has been replayed)."""
        with self._lock:
            while self._pending:
                path = self._pending[0]
                offset = self._offsets.get(path, 0)
                lines, end = _read_lines(path, offset, max_rows)
                if lines:
                    return SpillBatch(path, end, lines)
                if not self._finish_file(path, offset):
                    return None
            return None

    def acknowledge(self, batch: SpillBatch) -> None:
        """The database committed ``batch``: never replay it again."""
        with self._lock:
            self._offsets[batch.path] = batch.end_offset
            self.replayed_rows += len(batch.lines)
            tmp = batch.path.with_suffix(".offset.tmp")
            tmp.write_text(str(batch.end_offset), encoding="ascii")
            os.replace(tmp, batch.path.with_suffix(".offset"))
            self._finish_file(batch.path, batch.end_offset)

    def _finish_file(self, path: Path, offset: int) -> bool:
        """Delete a fully replayed file (lock held). False when it still has rows to replay."""
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            size = offset
        if size > offset:
            return False
        if path == self._own and self._own_handle is not None:
            self._own_handle.close()
            self._own, self._own_handle = None, None
        path.unlink(missing_ok=True)
        path.with_suffix(".offset").unlink(missing_ok=True)
        self._pending.remove(path)
        self._offsets.pop(path, None)
        return True

    def close(self) -> None:
        with self._lock:
            if self._own_handle is not None:
                handle = self._own_handle
                handle.flush()
                os.fsync(handle.fileno())
                handle.close()
                self._own_handle = None
                self._own = None

    def files(self) -> list[Path]:
        with self._lock:
            return list(self._pending)


def pending_spill_rows(directory: Path) -> int:
    """Rows waiting in a spill directory (all processes), for status displays."""
    total = 0
    for path in directory.glob("*.jsonl") if directory.is_dir() else ():
        offset = _read_offset(path)
        with path.open("rb") as handle:
            handle.seek(offset)
            total += sum(1 for _ in _iter_lines(handle))
    return total


def _iter_lines(handle: BinaryIO) -> Iterator[bytes]:
    for line in handle:
        if line.endswith(b"\n"):
            yield line


def _read_offset(path: Path) -> int:
    try:
        return int(path.with_suffix(".offset").read_text(encoding="ascii").strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _read_lines(path: Path, offset: int, max_rows: int) -> tuple[list[str], int]:
    lines: list[str] = []
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            end = offset
            for raw in handle:
                if not raw.endswith(b"\n"):  # a line still being written
                    break
                end += len(raw)
                text = raw.decode("utf-8").strip()
                if text:
                    lines.append(text)
                if len(lines) >= max_rows:
                    break
    except FileNotFoundError:
        return [], offset
    return lines, end


_ns_lock = threading.Lock()
_last_ns = 0


def _monotonic_ns() -> int:
    """A wall-clock nanosecond stamp that never repeats in this process (file names must be unique)."""
    global _last_ns
    import time

    with _ns_lock:
        _last_ns = max(_last_ns + 1, time.time_ns())
        return _last_ns
