"""The command line: version, db upgrade/status and one-line errors for bad URLs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workstation import __version__


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "workstation", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


def test_version() -> None:
    result = _run("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_upgrade_then_status_json(empty_db_url: str) -> None:
    up = _run("--database-url", empty_db_url, "db", "upgrade")
    assert up.returncode == 0, up.stderr
    again = _run("--database-url", empty_db_url, "db", "upgrade")
    assert "already up to date" in again.stdout
    status = _run("--database-url", empty_db_url, "db", "status", "--json")
    assert status.returncode == 0, status.stderr
    payload = json.loads(status.stdout)
    assert payload["backend"] in ("sqlite", "postgresql")
    assert payload["revision"]
    assert len(payload["tables"]) == 14


def test_environment_variable_selects_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    result = _run("db", "upgrade", env={"WORKSTATION_DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "env.db").exists()


def test_default_database_lives_in_the_user_data_dir(tmp_path: Path) -> None:
    result = _run("db", "status", "--json", env={"WORKSTATION_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["url"] == f"sqlite:///{tmp_path / 'workstation.db'}"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "malformed database URL"),
        ("mysql://root@localhost/x", "unsupported database backend"),
        ("postgresql://user:hunter2@127.0.0.1:1/nope", "cannot open database"),
    ],
)
def test_bad_url_is_one_line_and_exit_2(url: str, expected: str) -> None:
    result = _run("--database-url", url, "db", "status")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr


def test_unknown_command_is_a_usage_error() -> None:
    result = _run("no-such-command")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_db_partitions_creates_ahead_and_lists_ranges(db_url: str) -> None:
    result = _run("--database-url", db_url, "db", "partitions", "--ahead", "3", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    if db_url.startswith("sqlite"):
        assert payload == {"created": [], "partitions": []}  # SQLite has no partitions
        return
    # Three months ahead of the template's current and next month: at least one new month per log table.
    assert sum(name.startswith("system_logs_p") for name in payload["created"]) >= 1
    tables = {row["table"] for row in payload["partitions"]}
    assert tables == {
        "market_data", "feature_engineered_data", "system_logs", "trading_events", "performance_logs",
        "error_logs", "user_action_logs",
    }  # fmt: skip
    assert all(row["from"] and row["to"] and row["bytes"] >= 0 for row in payload["partitions"])
    again = _run("--database-url", db_url, "db", "partitions")
    assert again.returncode == 0 and "nothing (every range exists)" in again.stdout
