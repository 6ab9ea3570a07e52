"""Fake Alpaca keys never reach a log table or a spill file."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import pytest
from monitoring_helpers import TABLES, Install
from sqlalchemy import Engine, event, text

from workstation.monitoring.recorders import record_error, record_trading_event, record_user_action
from workstation.monitoring.redaction import redact_metadata, redact_text, register_secret

KEY_ID = "PKTESTFAKE0123456789"
SECRET = "fakeSecretKeyFORtests0123456789abcdefABCD"
KEYRING_TOKEN = "tok-registered-via-keyring-42"


def _leaky_activity(log: logging.Logger) -> None:
    log.info("connecting with key %s and secret %s", KEY_ID, SECRET)
    log.warning("request headers: {'APCA-API-KEY-ID': '%s', 'APCA-API-SECRET-KEY': '%s'}", KEY_ID, SECRET)
    log.info("db at postgresql://trader:hunter2hunter2@db.local/ws failed; Authorization: Bearer %s", KEYRING_TOKEN)
    try:
        raise PermissionError(f"401 for key {KEY_ID}")
    except PermissionError as exc:
        log.exception("broker refused %s", SECRET)
        record_error(exc, component="broker", metadata={"api_secret": SECRET, "note": f"key was {KEY_ID}"})
    record_trading_event(
        "order_rejected",
        symbol="AAPL",
        side="buy",
        quantity=1,
        metadata={"headers": {"Authorization": "Bearer x", "APCA-API-KEY-ID": KEY_ID}, "raw": f"secret={SECRET}"},
    )
    record_user_action(
        "settings_saved", request_path=f"settings/broker?token={KEYRING_TOKEN}", metadata={"password": "pw123456"}
    )


def _dump(engine: Engine) -> str:
    parts = []
    with engine.connect() as conn:
        for table in TABLES:
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                parts.append(" ".join(str(v) for v in row))
    return "\n".join(parts)


@pytest.fixture
def fake_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APCA_API_KEY_ID", KEY_ID)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)
    register_secret(KEYRING_TOKEN)


@pytest.mark.usefixtures("fake_keys")
def test_secrets_never_reach_the_tables(engine: Engine, install: Install, log: logging.Logger) -> None:
    handle = install(engine)
    _leaky_activity(log)
    assert handle.flush()
    dump = _dump(engine)
    assert "connecting with key ***" in dump  # the rows are there, only the secrets are gone
    for secret in (KEY_ID, SECRET, KEYRING_TOKEN, "hunter2hunter2", "pw123456"):
        assert secret not in dump


@pytest.mark.usefixtures("fake_keys")
def test_secrets_never_reach_the_spill_file(engine: Engine, install: Install, log: logging.Logger) -> None:
    def refuse(*_args: object) -> None:
        raise sqlite3.OperationalError("unable to open database file")

    handle = install(engine)
    event.listen(engine, "do_connect", refuse)
    engine.dispose()
    if engine.dialect.name == "postgresql":
        import psycopg

        event.remove(engine, "do_connect", refuse)

        def refuse_pg(*_args: object) -> None:
            raise psycopg.OperationalError("connection refused")

        refuse = refuse_pg
        event.listen(engine, "do_connect", refuse_pg)
    try:
        _leaky_activity(log)
        assert handle.flush()
        files = list(Path(handle.spill_directory).glob("*.jsonl"))
        assert files
        spilled = "\n".join(f.read_text() for f in files)
        assert "connecting with key ***" in spilled
        for secret in (KEY_ID, SECRET, KEYRING_TOKEN, "hunter2hunter2", "pw123456"):
            assert secret not in spilled
    finally:
        event.remove(engine, "do_connect", refuse)
    handle.flush()


def test_redaction_rules() -> None:
    register_secret("abc")  # too short to be matched by value: would blank ordinary words
    assert redact_text("abc def") == "abc def"
    assert redact_text("api_key=XYZ123 password: 'hunter22'") == "api_key=*** password: '***'"
    meta = redact_metadata({"token_count": None, "api_key": 12, "nested": [{"client_secret": "s"}], "symbol": "AAPL"})
    assert meta == {"token_count": None, "api_key": "***", "nested": [{"client_secret": "***"}], "symbol": "AAPL"}


def test_a_secret_registered_later_is_redacted_in_a_process_without_secret_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Found by the chaos harness: with no secret in the environment, the "rebuild" marker (an empty
    # snapshot) equalled what the environment read, so only the first registered keys were ever redacted.
    from workstation.monitoring.redaction import Redactor

    for name in list(os.environ):
        if "KEY" in name or "SECRET" in name or "TOKEN" in name or "PASSW" in name:
            monkeypatch.delenv(name)
    redactor = Redactor()
    redactor.register("first-secret-value")
    redactor.refresh()
    assert redactor.text("a first-secret-value b") == "a *** b"
    redactor.register("second-secret-value")
    redactor.refresh()
    assert redactor.text("forbidden: second-secret-value") == "forbidden: ***"
