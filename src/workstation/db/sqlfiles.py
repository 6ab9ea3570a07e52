"""Run the hand-written DDL in sql/<dialect>/ (views, materialized view, partial/covering indexes)."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from workstation.paths import sql_dir


def read_sql(dialect: str, name: str) -> str:
    path = sql_dir() / dialect / f"{name}.sql"
    return path.read_text(encoding="utf-8")


def split_statements(script: str) -> list[str]:
    """Split a script on ';' at line ends. Our DDL files keep to one statement per ';'-terminated block."""
    statements: list[str] = []
    current: list[str] = []
    for line in script.splitlines():
        if line.strip().startswith("--") and not current:
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            statement = "\n".join(current).strip().rstrip(";").strip()
            if statement:
                statements.append(statement)
            current = []
    tail = "\n".join(current).strip()
    if tail:
        statements.append(tail)
    return statements


def apply_sql(connection: Connection, name: str) -> None:
    """Execute sql/<dialect>/<name>.sql on ``connection`` (inside the caller's transaction)."""
    dialect = connection.dialect.name
    for statement in split_statements(read_sql(dialect, name)):
        connection.exec_driver_sql(statement)
