"""The README's exit-code table, command by command, through a real subprocess of the installed script.

CliRunner calls the click group directly and never passes through the console-script entry point, so
it did not notice that ``run()`` turned every ``Exit(1)`` into 0: these tests run what a user (or cron)
runs. Database-backed cases use SQLite; exit codes do not depend on the backend.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select as sql_select

from workstation.db.engine import create_db_engine
from workstation.db.models import MarketData
from workstation.errors import ExitCode

Cli = Callable[..., subprocess.CompletedProcess[str]]

GOOD_ROWS = [f"2024-01-{day:02d},10,11,9,10.5,1000" for day in range(2, 22)]
BAD_ROWS = ["2024-02-01,10,9,11,10,5", "2024-02-02,abc,11,9,10,5", "2024-02-05,10,11,9,12,5", "nope,10,11,9,10,5"]


def _bad_file(folder: Path) -> Path:
    """20 good rows and 4 bad ones, the issue's reproduction."""
    path = folder / "bad.csv"
    path.write_text("\n".join(["Date,Open,High,Low,Close,Volume", *GOOD_ROWS, *BAD_ROWS]) + "\n")
    return path


def _one_json_object(stdout: str) -> dict[str, object]:
    payload = json.loads(stdout)  # raises when stdout holds anything besides one JSON document
    assert isinstance(payload, dict)
    return payload


def _bars(url: str, symbol: str) -> int:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            query = sql_select(func.count()).select_from(MarketData).where(MarketData.symbol == symbol)
            return int(conn.scalar(query) or 0)
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_ingest_csv_with_rejected_rows_exits_1(workstation_cli: Cli, db_url: str, tmp_path: Path) -> None:
    bad = _bad_file(tmp_path)
    done = workstation_cli("--database-url", db_url, "ingest", "csv", str(bad), "--symbol", "B", "--json")
    assert done.returncode == ExitCode.REFUSED, done.stderr
    summary = _one_json_object(done.stdout)
    assert summary["rejected"] == 4
    assert summary["inserted"] == 20
    text = workstation_cli("--database-url", db_url, "ingest", "csv", str(bad), "--symbol", "C")
    assert text.returncode == ExitCode.REFUSED
    assert "rejected 4" in text.stdout
    strict = workstation_cli("--database-url", db_url, "ingest", "csv", str(bad), "--symbol", "D", "--strict", "--json")
    assert strict.returncode == ExitCode.REFUSED
    assert _one_json_object(strict.stdout)["written"] is False
    assert _bars(db_url, "D") == 0
    good = tmp_path / "good.csv"
    good.write_text("\n".join(["Date,Open,High,Low,Close,Volume", *GOOD_ROWS]) + "\n")
    ok = workstation_cli("--database-url", db_url, "ingest", "csv", str(good), "--symbol", "E", "--strict")
    assert ok.returncode == ExitCode.OK, ok.stderr
    assert _bars(db_url, "E") == 20


# (arguments, what the one line says); commands without a --json option are marked NO_JSON.
NO_JSON = "no --json option"
USAGE_ERRORS = [
    (["ingest", "csv", "{tmp}/bad.csv", "--bogus"], "No such option '--bogus'"),
    (["no-such-command"], "No such command"),
    (["ingest", "csv", "{tmp}/missing.csv"], "no such file"),
    (["ingest", "csv", "{tmp}/bad.csv", "--tz", "Mars/Olympus"], "unknown time zone"),
    (["ingest", "csv", "{tmp}/bad.csv", "--interval", "7x"], "unknown interval"),
    (["demo", "load", "--symbols", "0"], "--symbols must be between"),
    (["features", "build", "--symbols", ","], "--symbols is empty"),
    (["logs", "tail", "--since", "whenever"], "cannot read --since"),
    (["models", "show", "no_such_model"], "no_such_model"),
    (["predict", "--model-id", "no_such_model"], "no_such_model"),
    (["backtest", "--symbol", "X", "--start", "someday"], "--start must be a date"),
    (["backtest", "--csv", "{tmp}/bad.csv", "--symbol", "B", "--cash", "lots"], "--cash must be a number"),
    (["backtest", "--csv", "{tmp}/bad.csv", "--delimiter", "ab"], "one character, or tab"),
    # The execution commands get the same generic handling without knowing about it.
    (["orders", "submit", "--bogus"], "No such option '--bogus'"),
    (["trade", "run", "--bogus"], "No such option '--bogus'"),
    (["db", "downgrade", "no-such-revision", "--yes", NO_JSON], "cannot downgrade to 'no-such-revision'"),
    (["report", "--kind", "models", "--out", "{tmp}/report.doc", NO_JSON], "cannot tell the format"),
    (["gui", "--quit-after", "0", NO_JSON], "--quit-after"),
]


@pytest.mark.parametrize(("args", "message"), USAGE_ERRORS, ids=[" ".join(a[:3]) for a, _ in USAGE_ERRORS])
def test_usage_errors_exit_2_with_one_line_and_one_json_object(
    workstation_cli: Cli, sqlite_url: str, tmp_path: Path, args: list[str], message: str
) -> None:
    _bad_file(tmp_path)
    argv = ["--database-url", sqlite_url, *(a.replace("{tmp}", str(tmp_path)) for a in args if a != NO_JSON)]
    done = workstation_cli(*argv)
    assert done.returncode == ExitCode.USAGE, (done.stdout, done.stderr)
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    if NO_JSON in args:
        return
    as_json = workstation_cli(*argv, "--json")
    assert as_json.returncode == ExitCode.USAGE
    error = _one_json_object(as_json.stdout)
    assert error["exit_code"] == ExitCode.USAGE
    assert message in str(error["error"])


BAD_URLS = [
    ("not a url", "malformed database URL"),
    ("mysql://root@localhost/x", "unsupported database backend"),
    ("postgresql://user:hunter2@127.0.0.1:1/nope", "cannot open database"),
]


@pytest.mark.parametrize(
    ("command", "url", "message"),
    [(command, url, message) for command in (["symbols", "list", "--json"], ["ingest", "csv", "x.csv", "--json"])
     for url, message in BAD_URLS]
    # The window opens on a database it cannot reach (the status bar says why; Settings can change
    # it), so only a URL that can never work stops it.
    + [(["gui"], url, message) for url, message in BAD_URLS[:2]],
)  # fmt: skip
def test_bad_database_url_exits_2(workstation_cli: Cli, url: str, message: str, command: list[str]) -> None:
    done = workstation_cli("--database-url", url, *command, env={"QT_QPA_PLATFORM": "offscreen"}, timeout=120)
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert message in done.stderr
    assert "hunter2" not in done.stderr + done.stdout
    if "--json" in command:
        assert _one_json_object(done.stdout)["exit_code"] == ExitCode.USAGE


def test_symbols_codes(workstation_cli: Cli, sqlite_url: str, tmp_path: Path) -> None:
    meta = tmp_path / "meta.csv"
    meta.write_text("Symbol,Name\nabc,ABC Corp\n,Nameless\n")
    partial = workstation_cli("--database-url", sqlite_url, "symbols", "import", str(meta), "--json")
    assert partial.returncode == ExitCode.REFUSED
    assert _one_json_object(partial.stdout)["imported"] == 1
    assert workstation_cli("--database-url", sqlite_url, "symbols", "list", "--json").returncode == ExitCode.OK
    missing = workstation_cli("--database-url", sqlite_url, "symbols", "import", str(tmp_path / "none.csv"))
    assert missing.returncode == ExitCode.USAGE


def test_nothing_to_work_on_is_refused_not_a_usage_error(workstation_cli: Cli, sqlite_url: str, tmp_path: Path) -> None:
    for args in (
        ["features", "build", "--symbols", "NOPE"],
        ["report", "--kind", "backtest", "--out", str(tmp_path / "r.html")],
        ["logs", "trace", "cli-no-such-id"],
        ["backtest", "--symbol", "NOPE"],
    ):
        done = workstation_cli("--database-url", sqlite_url, *args)
        assert done.returncode == ExitCode.REFUSED, (args, done.stderr)
        assert done.stderr.startswith("error: "), done.stderr


def test_a_result_then_a_refusal_is_still_one_json_object(workstation_cli: Cli, sqlite_url: str) -> None:
    loaded = workstation_cli("--database-url", sqlite_url, "demo", "load", "--symbols", "2", "--years", "1", "--json")
    assert loaded.returncode == ExitCode.OK, loaded.stderr
    built = workstation_cli("--database-url", sqlite_url, "features", "build", "--symbols", "TEC01,NOPE", "--json")
    assert built.returncode == ExitCode.REFUSED
    summary = _one_json_object(built.stdout)  # the build summary, not a second object after it
    assert "NOPE" in json.dumps(summary["skipped"])
    assert "1 symbol(s) skipped or failed" in built.stderr


def test_declined_confirmation_is_refused(workstation_cli: Cli, sqlite_url: str) -> None:
    assert workstation_cli("--database-url", sqlite_url, "db", "upgrade").returncode == ExitCode.OK
    declined = workstation_cli("--database-url", sqlite_url, "db", "downgrade", "base", input="n\n")
    assert declined.returncode == ExitCode.REFUSED
    assert "not confirmed" in declined.stderr
    status = workstation_cli("--database-url", sqlite_url, "db", "status", "--json")
    assert _one_json_object(status.stdout)["up_to_date"] is True


def test_a_closed_pipe_is_not_a_failure(workstation_command: list[str], sqlite_url: str) -> None:
    reader = subprocess.Popen(
        [*workstation_command, "--database-url", sqlite_url, "features", "list"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.readline()
    reader.stdout.close()  # like `| head -1`
    error = reader.stderr.read().decode()
    assert reader.wait(timeout=120) == ExitCode.OK, error
    assert "Traceback" not in error


def test_gui_exits_0_when_closed(workstation_cli: Cli, tmp_path: Path) -> None:
    done = workstation_cli("gui", "--quit-after", "1", env={"QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == ExitCode.OK, done.stderr[-3000:]


def _start_in_a_terminal(command: list[str], args: list[str]) -> tuple[subprocess.Popen[bytes], int]:
    """Start ``workstation`` with stderr on a pseudo-terminal (so it draws its progress bar), in its own
    process group like a shell job."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [*command, *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, start_new_session=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )  # fmt: skip
    os.close(slave)
    return process, master


def _read_until(master: int, needle: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                seen += os.read(master, 4096)
            except OSError:  # the other end closed
                break
    return seen


def _drain(master: int) -> str:
    seen = _read_until(master, b"\x00never\x00", timeout=2)
    os.close(master)
    return seen.decode(errors="replace")


@pytest.mark.slow
@pytest.mark.parametrize("whole_group", [False, True], ids=["kill -INT pid", "Ctrl+C in a terminal"])
def test_ctrl_c_cancels_a_running_feature_build_with_130(
    workstation_command: list[str], workstation_cli: Cli, sqlite_url: str, whole_group: bool
) -> None:
    loaded = workstation_cli("--database-url", sqlite_url, "demo", "load", "--symbols", "30", "--json")
    assert loaded.returncode == ExitCode.OK, loaded.stderr
    args = ["--database-url", sqlite_url, "features", "build", "--full"]
    process, master = _start_in_a_terminal(workstation_command, args)
    started = _read_until(master, b"features [", timeout=120)
    assert b"features [" in started, started
    if whole_group:  # a terminal's Ctrl+C reaches every process of the job, the feature workers too
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGINT)
    code = process.wait(timeout=120)
    output = _drain(master)
    assert code == ExitCode.CANCELLED, output
    assert "cancelled by the user" in output
    assert "Traceback" not in output


@pytest.mark.slow
def test_ctrl_c_closes_the_window_with_130(workstation_command: list[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gui.db'}"
    process, master = _start_in_a_terminal(workstation_command, ["--database-url", url, "gui", "--quit-after", "120"])
    try:
        deadline = time.monotonic() + 90
        # The window is up once it has written its settings file (the user data dir is this test's).
        settings = Path(os.environ["WORKSTATION_DATA_DIR"]) / "gui.ini"
        while not settings.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    output = _drain(master)
    assert code == ExitCode.CANCELLED, output[-3000:]
