"""Real ``workstation`` processes for the chaos harness: forked by the zygote (fast) or spawned
from the console entry point (exactly what a user runs). Either can be killed with ``kill -9``."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ZYGOTE = Path(__file__).with_name("zygote.py")


@dataclass
class Proc:
    """One workstation process: its pid, exit code once it ended, and where its output went."""

    name: str
    argv: list[str]
    stdout: Path
    stderr: Path
    pid: int = 0
    code: int | None = None
    killed: bool = False
    started: float = field(default_factory=time.monotonic)
    ended: threading.Event = field(default_factory=threading.Event)
    popen: subprocess.Popen[bytes] | None = None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.code is None and self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)
            if sig == signal.SIGKILL:
                self.killed = True

    def wait(self, timeout: float) -> int | None:
        if self.popen is not None:
            try:
                self.code = self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                return None
            self.ended.set()
            return self.code
        self.ended.wait(timeout)
        return self.code

    def output(self) -> tuple[str, str]:
        read = lambda path: path.read_text(errors="replace") if path.exists() else ""  # noqa: E731
        return read(self.stdout), read(self.stderr)


class Zygote:
    """The harness side of zygote.py: spawn, wait, kill."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(ZYGOTE)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        assert self.process.stdout is not None
        ready = json.loads(self.process.stdout.readline())
        assert "ready" in ready, ready
        self._lock = threading.Lock()
        self._next = 0
        self._spawned: dict[int, tuple[threading.Event, list[int]]] = {}
        self._procs: dict[int, Proc] = {}
        self._early: dict[int, int] = {}
        threading.Thread(target=self._read, name="zygote-reader", daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            message = json.loads(raw)
            with self._lock:
                if "pid" in message:
                    event, box = self._spawned.pop(message["id"])
                    box.append(message["pid"])
                    event.set()
                elif "exited" in message:
                    proc = self._procs.pop(message["exited"], None)
                    if proc is None:
                        self._early[message["exited"]] = message["code"]
                    else:
                        proc.code = message["code"]
                        proc.ended.set()

    def spawn(self, proc: Proc, env: dict[str, str]) -> Proc:
        request = {"argv": proc.argv, "env": env, "stdout": str(proc.stdout), "stderr": str(proc.stderr)}
        event, box = threading.Event(), []
        with self._lock:
            self._next += 1
            request["id"] = self._next
            self._spawned[self._next] = (event, box)
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(request) + "\n").encode())
        self.process.stdin.flush()
        if not event.wait(30):
            raise RuntimeError("the zygote did not fork in time")
        proc.pid = box[0]
        proc.started = time.monotonic()
        with self._lock:
            if proc.pid in self._early:  # it ended before we registered it
                proc.code = self._early.pop(proc.pid)
                proc.ended.set()
            else:
                self._procs[proc.pid] = proc
        return proc

    def close(self) -> None:
        with contextlib.suppress(Exception):
            assert self.process.stdin is not None
            self.process.stdin.close()
        with contextlib.suppress(Exception):
            self.process.wait(10)
        if self.process.poll() is None:
            self.process.kill()


def spawn_real(proc: Proc, env: dict[str, str]) -> Proc:
    """A process started from the console entry point, exactly as a user would."""
    out, err = proc.stdout.open("wb"), proc.stderr.open("wb")
    proc.popen = subprocess.Popen(
        [sys.executable, "-m", "workstation", *proc.argv], stdout=out, stderr=err, env=env, start_new_session=True
    )
    out.close()
    err.close()
    proc.pid = proc.popen.pid
    proc.started = time.monotonic()
    return proc
