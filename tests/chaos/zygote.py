"""A fork server for real ``workstation`` processes: imports the command line once, then forks a child
per request that runs ``workstation.cli.run(argv)`` with its own environment and output files.

Why: a cold ``workstation`` start costs about a second of CPU (imports), and the chaos harness runs
thousands of processes on a 2-core machine. A forked child is a real process with its own pid, its
own database connections and threads, and it can be killed with ``kill -9`` like any other; only the
imports are shared (copy-on-write). The zygote itself holds no thread and no connection when it forks.

Protocol (JSON lines): stdin ``{"id", "argv", "env", "stdout", "stderr"}`` → stdout ``{"id", "pid"}``,
and for every child that ends ``{"exited": pid, "code": exit status or -signal}``.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import sys


def _preload() -> None:
    # Everything a command of the harness needs, imported before any fork.
    import psycopg  # noqa: F401
    import sqlalchemy.dialects.postgresql.psycopg
    import sqlalchemy.dialects.sqlite.pysqlite  # noqa: F401

    import workstation.cli
    import workstation.cli.account
    import workstation.cli.orders
    import workstation.cli.positions
    import workstation.cli.trade
    import workstation.db.migrate
    import workstation.market.bars
    import workstation.monitoring.install
    import workstation.trading.brokers.alpaca
    import workstation.trading.brokers.alpaca_stream
    import workstation.trading.live
    import workstation.trading.paper_account
    import workstation.trading.session
    import workstation.trading.strategies.model

    workstation.cli._load("orders")
    workstation.db.migrate.head_revisions()


def _child(request: dict[str, object]) -> None:
    os.setsid()  # its own process group: signals meant for the harness do not reach it
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in dict(request["env"]).items()})  # type: ignore[call-overload]
    stdin = os.open(os.devnull, os.O_RDONLY)
    stdout = os.open(str(request["stdout"]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    stderr = os.open(str(request["stderr"]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(stdin, 0)
    os.dup2(stdout, 1)
    os.dup2(stderr, 2)
    from workstation.cli import run

    sys.argv = ["workstation", *[str(a) for a in request["argv"]]]  # type: ignore[attr-defined]
    code = 0
    try:
        run(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    # The command has finished (its logs written, its connections closed): skip the interpreter's
    # teardown of every module the zygote imported, which costs more than the command itself.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _warm_up() -> None:
    """One real invocation before any fork, so children do not each pay the first-use costs."""
    import gc
    import tempfile

    from workstation.cli import main as cli_main
    from workstation.trading.brokers.alpaca_parse import report_from_order  # noqa: F401

    with tempfile.TemporaryDirectory() as folder:
        os.environ["WORKSTATION_DATA_DIR"] = folder
        with contextlib.suppress(SystemExit):
            cli_main.main(
                args=["--database-url", f"sqlite:///{folder}/warm.db", "orders", "list"],
                prog_name="workstation",
                standalone_mode=False,
            )
        os.environ.pop("WORKSTATION_DATA_DIR", None)
    gc.collect()
    # Children must not copy the zygote's memory page by page: a garbage collection in a child would
    # touch every object imported here. Frozen objects are left out of collections.
    gc.freeze()
    import threading

    assert threading.active_count() == 1, threading.enumerate()  # nothing may run when we fork


def main() -> None:
    _preload()
    with contextlib.redirect_stdout(sys.stderr):
        _warm_up()
    out = sys.stdout
    out.write(json.dumps({"ready": os.getpid()}) + "\n")
    out.flush()
    buffer = b""
    while True:
        readable, _, _ = select.select([sys.stdin.fileno()], [], [], 0.01)
        if readable:
            chunk = os.read(sys.stdin.fileno(), 65536)
            if not chunk:
                return
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                request = json.loads(line)
                out.flush()
                pid = os.fork()
                if pid == 0:
                    _child(request)  # never returns
                out.write(json.dumps({"id": request["id"], "pid": pid}) + "\n")
                out.flush()
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            code = os.waitstatus_to_exitcode(status)
            out.write(json.dumps({"exited": pid, "code": code}) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
