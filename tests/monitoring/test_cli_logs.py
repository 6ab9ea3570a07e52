"""The CLI through monitoring: one correlation id per invocation, and the ``logs`` commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from monitoring_helpers import count
from sqlalchemy import text

from workstation.cli import main
from workstation.cli.context import app_context
from workstation.db.engine import create_db_engine
from workstation.errors import ConfigurationError


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workstation", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


@pytest.mark.slow
def test_every_invocation_is_traced(db_url: str) -> None:
    status = _run("--database-url", db_url, "db", "status", "--json")
    assert status.returncode == 0, status.stderr
    tail = _run("--database-url", db_url, "logs", "tail", "--source", "performance_log", "--json")
    assert tail.returncode == 0, tail.stderr
    rows = json.loads(tail.stdout)
    assert [r["description"].split()[0] for r in rows] == ["cli.db.status"]
    cid = rows[0]["correlation_id"]
    assert cid.startswith("cli-")
    traced = _run("--database-url", db_url, "logs", "trace", cid, "--json")
    assert traced.returncode == 0, traced.stderr
    entries = json.loads(traced.stdout)["entries"]
    assert entries[0]["source"] == "user_action"
    assert {e["source"] for e in entries} >= {"user_action", "performance_log"}
    assert all(e["correlation_id"] == cid for e in entries)
    human = _run("--database-url", db_url, "logs", "trace", cid)
    assert "cli_command CLI db status -> 0" in human.stdout
    missing = _run("--database-url", db_url, "logs", "trace", "cli-nothing")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: no log rows carry correlation id 'cli-nothing'"


@pytest.mark.slow
def test_unreachable_database_spills_and_keeps_the_one_line_error(tmp_path: Path) -> None:
    url = "postgresql://user:hunter2@127.0.0.1:1/nope"
    result = _run("--database-url", url, "db", "status", env={"WORKSTATION_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    spilled = "".join(p.read_text() for p in (tmp_path / "log-spill").rglob("*.jsonl"))
    assert '"request_path":"db status"' in spilled
    assert '"response_status":2' in spilled
    assert "hunter2" not in spilled


@pytest.fixture
def crashing_command() -> Iterator[None]:
    @click.command("monitoring-test-crash")
    def crash() -> None:
        app_context().engine  # noqa: B018 - uses the database, which installs monitoring
        raise RuntimeError("unexpected failure in a command")

    main.add_command(crash)
    try:
        yield
    finally:
        main.commands.pop("monitoring-test-crash", None)


@pytest.mark.usefixtures("crashing_command")
def test_unexpected_exception_is_recorded_once(db_url: str) -> None:
    result = CliRunner().invoke(main, ["--database-url", db_url, "monitoring-test-crash"])
    assert isinstance(result.exception, RuntimeError)
    engine = create_db_engine(db_url)
    try:
        assert count(engine, "error_logs") == 1
        with engine.connect() as conn:
            error = conn.execute(
                text("SELECT error_type, component, request_path, correlation_id FROM error_logs")
            ).one()
            perf = conn.execute(text("SELECT operation_name, status, correlation_id FROM performance_logs")).one()
            action = conn.execute(text("SELECT response_status, correlation_id FROM user_action_logs")).one()
        assert error[:3] == ("RuntimeError", "cli", "monitoring-test-crash")
        assert perf[:2] == ("cli.monitoring-test-crash", "error")
        assert action[0] == 1
        assert error[3] == perf[2] == action[1]
    finally:
        engine.dispose()


def test_logs_commands(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    for _ in range(3):  # each invocation leaves at least its timing row
        assert runner.invoke(main, ["--database-url", db_url, "db", "status"]).exit_code == 0
    tail = runner.invoke(main, ["--database-url", db_url, "logs", "tail", "--limit", "3"])
    assert tail.exit_code == 0, tail.output
    assert len(tail.output.strip().splitlines()) == 3
    follow = runner.invoke(main, ["--database-url", db_url, "logs", "tail", "-f", "--for", "0.5", "--json"])
    assert follow.exit_code == 0, follow.output
    assert all(json.loads(line)["source"] for line in follow.output.strip().splitlines())
    bad = runner.invoke(main, ["--database-url", db_url, "logs", "tail", "--severity", "LOUD"])
    assert isinstance(bad.exception, ConfigurationError)  # run() prints it as one line, exit 2
    alerts = runner.invoke(main, ["--database-url", db_url, "logs", "alerts", "--json"])
    assert alerts.exit_code == 0, alerts.output
    assert json.loads(alerts.output) == []
    archive = tmp_path / "old.jsonl.gz"
    dry = runner.invoke(main, ["--database-url", db_url, "logs", "prune", "--older-than", "90d", "--dry-run", "--json"])
    assert json.loads(dry.output)["total"] == 0
    pruned = runner.invoke(
        main, ["--database-url", db_url, "logs", "prune", "--older-than", "1s", "--archive", str(archive), "--json"]
    )
    assert pruned.exit_code == 0, pruned.output
    assert json.loads(pruned.output)["total"] > 0
    assert archive.exists()
    wrong = runner.invoke(main, ["--database-url", db_url, "logs", "prune", "--older-than", "soon"])
    assert isinstance(wrong.exception, ConfigurationError)
