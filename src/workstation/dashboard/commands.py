"""Run a ``workstation`` CLI command as a child process (demo load, CSV import, download) as a job.

The window starts capabilities that other packages own through their CLI, so it needs nothing but
their command name; a missing command is reported as one clear line, never a traceback. Cancel
terminates the child process.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence

from workstation.errors import JobCancelledError, WorkstationError
from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate

DEMO_LOAD = ("demo", "load")
CSV_IMPORT = ("ingest", "csv")
DOWNLOAD = ("ingest", "yahoo")


def command_available(path: Sequence[str]) -> bool:
    """Whether ``workstation <path…>`` exists in this installation (e.g. ("demo", "load"))."""
    import click

    from workstation.cli import main

    ctx = click.Context(main)
    command: click.Command | None = main
    for name in path:
        if not isinstance(command, click.Group):
            return False
        command = command.get_command(ctx, name)
        if command is None:
            return False
    return True


def run_cli(
    args: Sequence[str],
    database_url: str,
    progress: ProgressCallback,
    cancel: CancelToken,
    *,
    label: str = "",
) -> str:
    """Run ``python -m workstation --database-url URL args…``; returns its output, raises on failure."""
    path = tuple(a for a in args if not a.startswith("-"))[:2]
    if not command_available(path):
        raise WorkstationError(f"`workstation {' '.join(path)}` is not part of this installation yet")
    cmd = [sys.executable, "-m", "workstation", "--database-url", database_url, *args]
    progress(ProgressUpdate(0, 0, label or " ".join(args)))
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while process.poll() is None:
        if cancel.cancelled:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
            raise JobCancelledError(f"`workstation {' '.join(args)}` cancelled")
        time.sleep(0.1)
    out, err = process.communicate()
    if process.returncode != 0:
        lines = [line for line in (err or out).strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit code {process.returncode}"
        raise WorkstationError(f"`workstation {' '.join(args)}` failed: {reason}")
    return out
