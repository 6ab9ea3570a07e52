"""Every table and column of ../shared/spec/database-erd.md exists with the right type family."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect, types

from workstation.db.models import SPEC_TABLES

INT, BIGINT, TEXT, DEC, FLOAT, TS, JSONT, INET = "int", "bigint", "text", "dec", "float", "ts", "json", "inet"

# The spec's columns (plus the additions the foundation issue asks for: interval, source on features).
SPEC_COLUMNS: dict[str, dict[str, str]] = {
    "stock_info": {
        "id": BIGINT, "symbol": TEXT, "company_name": TEXT, "sector": TEXT, "industry": TEXT,
        "market_cap": BIGINT, "country": TEXT, "currency": TEXT, "exchange": TEXT, "source": TEXT,
        "created_at": TS, "updated_at": TS,
    },
    "market_data": {
        "id": BIGINT, "symbol": TEXT, "interval": TEXT, "timestamp": TS, "open": DEC, "high": DEC, "low": DEC,
        "close": DEC, "volume": BIGINT, "source": TEXT, "created_at": TS,
    },
    "feature_engineered_data": {
        # BIGINT, not the spec's SERIAL: every rebuild takes new ids (migrations 0009 and 0011).
        "id": BIGINT, "symbol": TEXT, "interval": TEXT, "source": TEXT, "timestamp": TS, "open": FLOAT,
        "high": FLOAT, "low": FLOAT, "close": FLOAT, "volume": FLOAT, "returns": FLOAT, "rsi_1d": FLOAT,
        "price_ma_short": FLOAT, "bb_upper": FLOAT, "macd": FLOAT, "atr": FLOAT, "feature_version": TEXT,
        "created_at": TS, "updated_at": TS,
    },
    "models": {
        "id": BIGINT, "model_id": TEXT, "name": TEXT, "version": TEXT, "model_type": TEXT, "parameters": JSONT,
        "metrics": JSONT, "file_path": TEXT, "status": TEXT, "created_at": TS, "updated_at": TS,
    },
    "predictions": {
        "id": BIGINT, "prediction_id": TEXT, "model_id": TEXT, "symbol": TEXT, "timestamp": TS,
        "prediction_type": TEXT, "prediction_value": DEC, "confidence": DEC, "features": JSONT, "created_at": TS,
    },
    "orders": {
        # quantity is a decimal, not the spec's integer: Alpaca trades fractional shares and the house
        # rule is Decimal for quantities.
        "id": BIGINT, "order_id": TEXT, "symbol": TEXT, "side": TEXT, "quantity": DEC, "order_type": TEXT,
        "price": DEC, "status": TEXT, "strategy": TEXT, "model_id": TEXT, "created_at": TS, "updated_at": TS,
    },
    "fills": {
        "id": BIGINT, "fill_id": TEXT, "order_id": TEXT, "symbol": TEXT, "quantity": DEC, "price": DEC,
        "commission": DEC, "timestamp": TS, "created_at": TS,
    },
    "system_logs": {
        "id": BIGINT, "timestamp": TS, "level": TEXT, "logger_name": TEXT, "correlation_id": TEXT,
        "message": TEXT, "module": TEXT, "function_name": TEXT, "line_number": INT, "thread_name": TEXT,
        "process_id": INT, "metadata": JSONT, "created_at": TS,
    },
    "trading_events": {
        "id": BIGINT, "timestamp": TS, "event_type": TEXT, "symbol": TEXT, "side": TEXT, "quantity": DEC,
        "price": DEC, "order_id": TEXT, "strategy": TEXT, "correlation_id": TEXT, "metadata": JSONT,
        "created_at": TS,
    },
    "performance_logs": {
        "id": BIGINT, "timestamp": TS, "operation_name": TEXT, "duration_ms": DEC, "status": TEXT,
        "component": TEXT, "correlation_id": TEXT, "memory_usage_mb": DEC, "cpu_usage_percent": DEC,
        "metadata": JSONT, "created_at": TS,
    },
    "error_logs": {
        "id": BIGINT, "timestamp": TS, "error_type": TEXT, "error_message": TEXT, "stack_trace": TEXT,
        "component": TEXT, "correlation_id": TEXT, "user_id": TEXT, "request_path": TEXT, "metadata": JSONT,
        "created_at": TS,
    },
    "user_action_logs": {
        "id": BIGINT, "timestamp": TS, "action_type": TEXT, "user_id": TEXT, "session_id": TEXT,
        "ip_address": INET, "user_agent": TEXT, "request_path": TEXT, "request_method": TEXT,
        "response_status": INT, "duration_ms": DEC, "correlation_id": TEXT, "metadata": JSONT, "created_at": TS,
    },
}  # fmt: skip


def _family(column_type: types.TypeEngine[object], dialect: str) -> str:
    name = type(column_type).__name__.upper()
    if "INET" in name:
        return INET
    if "JSON" in name:
        return JSONT
    if isinstance(column_type, types.DateTime):
        return TS
    if isinstance(column_type, types.Numeric) and not isinstance(column_type, types.Float):
        return DEC
    if isinstance(column_type, types.Float):
        return FLOAT
    if isinstance(column_type, types.BigInteger):
        return BIGINT
    if isinstance(column_type, types.Integer):
        return INT
    if isinstance(column_type, types.String | types.Text):
        return TEXT
    return name


def _expected_family(expected: str, dialect: str) -> set[str]:
    if dialect == "sqlite":
        # SQLite stores JSON as text with JSON affinity, INET as text, and rowid ids are INTEGER (64-bit).
        return {
            BIGINT: {BIGINT, INT},
            JSONT: {JSONT},
            INET: {TEXT},
        }.get(expected, {expected})
    return {expected}


def test_spec_lists_twelve_tables() -> None:
    assert set(SPEC_COLUMNS) == set(SPEC_TABLES)
    assert len(SPEC_TABLES) == 12


@pytest.mark.parametrize("table", SPEC_TABLES)
def test_every_spec_column_has_the_right_type_family(engine: Engine, table: str) -> None:
    inspector = inspect(engine)
    columns = {c["name"]: c for c in inspector.get_columns(table)}
    for name, expected in SPEC_COLUMNS[table].items():
        assert name in columns, f"{table}.{name} is missing"
        family = _family(columns[name]["type"], engine.dialect.name)
        assert family in _expected_family(expected, engine.dialect.name), (
            f"{table}.{name}: {columns[name]['type']!r} is {family}, expected {expected}"
        )


def test_postgres_timestamps_are_timestamptz(pg_engine: Engine) -> None:
    inspector = inspect(pg_engine)
    for table in SPEC_TABLES:
        for column in inspector.get_columns(table):
            if isinstance(column["type"], types.DateTime):
                assert column["type"].timezone, f"{table}.{column['name']} is not timestamptz"


def test_unique_keys(engine: Engine) -> None:
    inspector = inspect(engine)

    def uniques(table: str) -> set[tuple[str, ...]]:
        found = {tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)}
        found |= {tuple(i["column_names"]) for i in inspector.get_indexes(table) if i["unique"]}
        return found

    assert ("symbol",) in uniques("stock_info")
    assert ("model_id",) in uniques("models")
    assert ("prediction_id",) in uniques("predictions")
    assert ("order_id",) in uniques("orders")
    assert ("fill_id",) in uniques("fills")
    assert ("symbol", "interval", "timestamp", "source") in uniques("market_data")
    assert ("symbol", "interval", "timestamp", "source", "feature_version") in uniques("feature_engineered_data")


def test_foreign_keys(engine: Engine) -> None:
    inspector = inspect(engine)
    fills = inspector.get_foreign_keys("fills")
    assert any(fk["referred_table"] == "orders" and fk["options"].get("ondelete") == "CASCADE" for fk in fills)
    preds = inspector.get_foreign_keys("predictions")
    assert any(fk["referred_table"] == "models" and fk["options"].get("ondelete") == "RESTRICT" for fk in preds)
    bars = inspector.get_foreign_keys("market_data")
    assert any(fk["referred_table"] == "stock_info" and fk["referred_columns"] == ["symbol"] for fk in bars)


def test_postgres_special_indexes(pg_engine: Engine) -> None:
    with pg_engine.connect() as conn:
        rows = dict(conn.exec_driver_sql("SELECT indexname, indexdef FROM pg_indexes").all())
    assert "INCLUDE" in rows["ix_market_data_chart"]
    assert "WHERE" in rows["ix_orders_open"]
    assert "WHERE" in rows["ix_system_logs_errors"]
    # The unique key is the features' one read path; the older (symbol, version, timestamp) index is gone (0008).
    assert "UNIQUE" in rows["uq_feature_engineered_data_bar_version"]
    assert "ix_feature_engineered_data_symbol_version_ts" not in rows
    assert "UNIQUE" in rows["ux_mv_features_dashboard_summary_symbol"]
    for table in ("system_logs", "trading_events", "performance_logs", "error_logs", "user_action_logs"):
        assert f"ix_{table}_timestamp" in rows
        assert f"ix_{table}_correlation_id" in rows


def test_feature_rows_have_one_read_index_besides_the_primary_key(engine: Engine) -> None:
    # Migration 0008: the unique key (symbol, interval, timestamp, source, feature_version) serves every read,
    # so each written row pays for two B-trees, not three — on both databases.
    names = {ix["name"] for ix in inspect(engine).get_indexes("feature_engineered_data")}
    assert "ix_feature_engineered_data_symbol_version_ts" not in names
    keys = inspect(engine).get_unique_constraints("feature_engineered_data")
    assert ["symbol", "interval", "timestamp", "source", "feature_version"] in [k["column_names"] for k in keys]
