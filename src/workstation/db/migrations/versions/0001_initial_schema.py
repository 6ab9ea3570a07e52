"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25

The twelve tables of the data model; then sql/<dialect>/0001_views.up.sql adds the activity view,
the dashboard summary and the indexes SQLAlchemy cannot express.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from workstation.db.sqlfiles import apply_sql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "error_logs",
        sa.Column("error_type", sa.String(length=255), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("stack_trace", sa.Text(), nullable=True),
        sa.Column("component", sa.String(length=128), nullable=True),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("request_path", sa.String(length=512), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(always=False),
            nullable=False,
        ),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("correlation_id", sa.String(length=64), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_error_logs")),
    )
    op.create_index(op.f("ix_error_logs_correlation_id"), "error_logs", ["correlation_id"], unique=False)
    op.create_index(op.f("ix_error_logs_timestamp"), "error_logs", ["timestamp"], unique=False)
    op.create_table(
        "feature_engineered_data",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("interval", sa.String(length=8), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("open", sa.Double(), nullable=True),
        sa.Column("high", sa.Double(), nullable=True),
        sa.Column("low", sa.Double(), nullable=True),
        sa.Column("close", sa.Double(), nullable=True),
        sa.Column("volume", sa.Double(), nullable=True),
        sa.Column("returns", sa.Double(), nullable=True),
        sa.Column("rsi_1d", sa.Double(), nullable=True),
        sa.Column("price_ma_short", sa.Double(), nullable=True),
        sa.Column("bb_upper", sa.Double(), nullable=True),
        sa.Column("macd", sa.Double(), nullable=True),
        sa.Column("atr", sa.Double(), nullable=True),
        sa.Column("feature_version", sa.String(length=16), server_default="3.0", nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feature_engineered_data")),
        sa.UniqueConstraint(
            "symbol",
            "interval",
            "timestamp",
            "source",
            name=op.f("uq_feature_engineered_data_symbol_interval_timestamp_source"),
        ),
    )
    op.create_index(
        "ix_feature_engineered_data_symbol_version_ts",
        "feature_engineered_data",
        ["symbol", "feature_version", "timestamp"],
        unique=False,
    )
    op.create_table(
        "models",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(always=False),
            nullable=False,
        ),
        sa.Column("model_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("model_type", sa.String(length=64), nullable=False),
        sa.Column(
            "parameters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("file_path", sa.String(length=1024), nullable=True),
        sa.Column("artifact_sha256", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint("status IN ('active', 'deprecated')", name=op.f("ck_models_status_valid")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_models")),
        sa.UniqueConstraint("model_id", name=op.f("uq_models_model_id")),
    )
    op.create_table(
        "orders",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(always=False),
            nullable=False,
        ),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("order_type", sa.String(length=16), nullable=False),
        sa.Column("price", sa.Numeric(precision=18, scale=6), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("strategy", sa.String(length=64), nullable=True),
        sa.Column("model_id", sa.String(length=128), nullable=True),
        sa.Column("broker", sa.String(length=16), nullable=False),
        sa.Column("broker_order_id", sa.String(length=64), nullable=True),
        sa.Column("time_in_force", sa.String(length=8), nullable=False),
        sa.Column("stop_price", sa.Numeric(precision=18, scale=6), nullable=True),
        sa.Column("filled_quantity", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("average_fill_price", sa.Numeric(precision=18, scale=6), nullable=True),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("correlation_id", sa.String(length=64), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "order_type IN ('market', 'limit', 'stop', 'stop_limit', 'trailing_stop')",
            name=op.f("ck_orders_order_type_valid"),
        ),
        sa.CheckConstraint("side IN ('buy', 'sell')", name=op.f("ck_orders_side_valid")),
        sa.CheckConstraint(
            "status IN ('pending', 'submitted', 'accepted', 'partially_filled', 'filled', 'pending_cancel', 'cancelled', 'rejected', 'expired', 'replaced')",
            name=op.f("ck_orders_status_valid"),
        ),
        sa.CheckConstraint("filled_quantity >= 0", name=op.f("ck_orders_filled_quantity_non_negative")),
        sa.CheckConstraint("price IS NULL OR price > 0", name=op.f("ck_orders_price_positive")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_orders_quantity_positive")),
        sa.CheckConstraint("stop_price IS NULL OR stop_price > 0", name=op.f("ck_orders_stop_price_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("order_id", name=op.f("uq_orders_order_id")),
    )
    op.create_index(op.f("ix_orders_broker_order_id"), "orders", ["broker_order_id"], unique=False)
    op.create_index(op.f("ix_orders_correlation_id"), "orders", ["correlation_id"], unique=False)
    op.create_index("ix_orders_symbol_created_at", "orders", ["symbol", "created_at"], unique=False)
    op.create_table(
        "performance_logs",
        sa.Column("operation_name", sa.String(length=255), nullable=False),
        sa.Column("duration_ms", sa.Numeric(precision=16, scale=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("component", sa.String(length=128), nullable=True),
        sa.Column("memory_usage_mb", sa.Numeric(precision=16, scale=3), nullable=True),
        sa.Column("cpu_usage_percent", sa.Numeric(precision=16, scale=3), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(always=False),
            nullable=False,
        ),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("correlation_id", sa.String(length=64), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint("status IN ('success', 'error', 'timeout')", name=op.f("ck_performance_logs_status_valid")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_performance_logs")),
    )
    op.create_index(op.f("ix_performance_logs_correlation_id"), "performance_logs", ["correlation_id"], unique=False)
    op.create_index(op.f("ix_performance_logs_timestamp"), "performance_logs", ["timestamp"], unique=False)
    op.create_table(
        "stock_info",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(always=False),
            nullable=False,
        ),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("company_name", sa.String(length=255), nullable=True),
        sa.Column("sector", sa.String(length=128), nullable=True),
        sa.Column("industry", sa.String(length=128), nullable=True),
        sa.Column("market_cap", sa.BigInteger(), nullable=True),
        sa.Column("country", sa.String(length=64), nullable=True),
        sa.Column("currency", sa.String(length=8), nullable=True),
        sa.Column("exchange", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_info")),
        sa.UniqueConstraint("symbol", name=op.f("uq_stock_info_symbol")),
    )
    op.create_table(
        "system_logs",
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("logger_name", sa.String(length=255), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("module", sa.String(length=255), nullable=True),
        sa.Column("function_name", sa.String(length=255), nullable=True),
        sa.Column("line_number", sa.Integer(), nullable=True),
        sa.Column("thread_name", sa.String(length=255), nullable=True),
        sa.Column("process_id", sa.Integer(), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(always=False),
            nullable=False,
        ),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("correlation_id", sa.String(length=64), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "level IN ('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')",
            name=op.f("ck_system_logs_level_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_logs")),
    )
    op.create_index(op.f("ix_system_logs_correlation_id"), "system_logs", ["correlation_id"], unique=False)
    op.create_index(op.f("ix_system_logs_timestamp"), "system_logs", ["timestamp"], unique=False)
    op.create_table(
        "trading_events",
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=True),
        sa.Column("side", sa.String(length=4), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=18, scale=6), nullable=True),
        sa.Column("price", sa.Numeric(precision=18, scale=6), nullable=True),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("strategy", sa.String(length=64), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(always=False),
            nullable=False,
        ),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("correlation_id", sa.String(length=64), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint("side IS NULL OR side IN ('buy', 'sell')", name=op.f("ck_trading_events_side_valid")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trading_events")),
    )
    op.create_index(op.f("ix_trading_events_correlation_id"), "trading_events", ["correlation_id"], unique=False)
    op.create_index(op.f("ix_trading_events_event_type"), "trading_events", ["event_type"], unique=False)
    op.create_index(op.f("ix_trading_events_order_id"), "trading_events", ["order_id"], unique=False)
    op.create_index(op.f("ix_trading_events_timestamp"), "trading_events", ["timestamp"], unique=False)
    op.create_table(
        "user_action_logs",
        sa.Column("action_type", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("ip_address", sa.String(length=45).with_variant(postgresql.INET(), "postgresql"), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("request_path", sa.String(length=512), nullable=True),
        sa.Column("request_method", sa.String(length=16), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Numeric(precision=16, scale=3), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(always=False),
            nullable=False,
        ),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("correlation_id", sa.String(length=64), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_action_logs")),
    )
    op.create_index(op.f("ix_user_action_logs_correlation_id"), "user_action_logs", ["correlation_id"], unique=False)
    op.create_index(op.f("ix_user_action_logs_timestamp"), "user_action_logs", ["timestamp"], unique=False)
    op.create_table(
        "fills",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(always=False),
            nullable=False,
        ),
        sa.Column("fill_id", sa.String(length=128), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("price", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("commission", sa.Numeric(precision=20, scale=6), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint("commission >= 0", name=op.f("ck_fills_commission_non_negative")),
        sa.CheckConstraint("price > 0", name=op.f("ck_fills_price_positive")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_fills_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.order_id"], name=op.f("fk_fills_order_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fills")),
        sa.UniqueConstraint("fill_id", name=op.f("uq_fills_fill_id")),
    )
    op.create_index(op.f("ix_fills_order_id"), "fills", ["order_id"], unique=False)
    op.create_index("ix_fills_symbol_timestamp", "fills", ["symbol", "timestamp"], unique=False)
    op.create_table(
        "market_data",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(always=False),
            nullable=False,
        ),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("interval", sa.String(length=8), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("open", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("high", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("low", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("close", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("volume", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint("high >= low", name=op.f("ck_market_data_high_ge_low")),
        sa.CheckConstraint("length(interval) > 0", name=op.f("ck_market_data_interval_present")),
        sa.CheckConstraint(
            "open > 0 AND high > 0 AND low > 0 AND close > 0", name=op.f("ck_market_data_prices_positive")
        ),
        sa.CheckConstraint("volume >= 0", name=op.f("ck_market_data_volume_non_negative")),
        sa.ForeignKeyConstraint(
            ["symbol"],
            ["stock_info.symbol"],
            name=op.f("fk_market_data_symbol_stock_info"),
            onupdate="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_data")),
        sa.UniqueConstraint(
            "symbol",
            "interval",
            "timestamp",
            "source",
            name=op.f("uq_market_data_symbol_interval_timestamp_source"),
        ),
    )
    op.create_table(
        "predictions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(always=False),
            nullable=False,
        ),
        sa.Column("prediction_id", sa.String(length=255), nullable=False),
        sa.Column("model_id", sa.String(length=128), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prediction_type", sa.String(length=32), nullable=False),
        sa.Column("prediction_value", sa.Numeric(precision=24, scale=10), nullable=False),
        sa.Column("confidence", sa.Numeric(precision=12, scale=10), nullable=True),
        sa.Column(
            "features",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint("confidence >= 0 AND confidence <= 1", name=op.f("ck_predictions_confidence_range")),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.model_id"],
            name=op.f("fk_predictions_model_id_models"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_predictions")),
        sa.UniqueConstraint("prediction_id", name=op.f("uq_predictions_prediction_id")),
    )
    op.create_index(op.f("ix_predictions_model_id"), "predictions", ["model_id"], unique=False)
    op.create_index("ix_predictions_symbol_timestamp", "predictions", ["symbol", "timestamp"], unique=False)

    apply_sql(op.get_bind(), "0001_views.up")


def downgrade() -> None:
    apply_sql(op.get_bind(), "0001_views.down")
    op.drop_index("ix_predictions_symbol_timestamp", table_name="predictions")
    op.drop_index(op.f("ix_predictions_model_id"), table_name="predictions")
    op.drop_table("predictions")
    op.drop_table("market_data")
    op.drop_index("ix_fills_symbol_timestamp", table_name="fills")
    op.drop_index(op.f("ix_fills_order_id"), table_name="fills")
    op.drop_table("fills")
    op.drop_index(op.f("ix_user_action_logs_timestamp"), table_name="user_action_logs")
    op.drop_index(op.f("ix_user_action_logs_correlation_id"), table_name="user_action_logs")
    op.drop_table("user_action_logs")
    op.drop_index(op.f("ix_trading_events_timestamp"), table_name="trading_events")
    op.drop_index(op.f("ix_trading_events_order_id"), table_name="trading_events")
    op.drop_index(op.f("ix_trading_events_event_type"), table_name="trading_events")
    op.drop_index(op.f("ix_trading_events_correlation_id"), table_name="trading_events")
    op.drop_table("trading_events")
    op.drop_index(op.f("ix_system_logs_timestamp"), table_name="system_logs")
    op.drop_index(op.f("ix_system_logs_correlation_id"), table_name="system_logs")
    op.drop_table("system_logs")
    op.drop_table("stock_info")
    op.drop_index(op.f("ix_performance_logs_timestamp"), table_name="performance_logs")
    op.drop_index(op.f("ix_performance_logs_correlation_id"), table_name="performance_logs")
    op.drop_table("performance_logs")
    op.drop_index("ix_orders_symbol_created_at", table_name="orders")
    op.drop_index(op.f("ix_orders_correlation_id"), table_name="orders")
    op.drop_index(op.f("ix_orders_broker_order_id"), table_name="orders")
    op.drop_table("orders")
    op.drop_table("models")
    op.drop_index("ix_feature_engineered_data_symbol_version_ts", table_name="feature_engineered_data")
    op.drop_table("feature_engineered_data")
    op.drop_index(op.f("ix_error_logs_timestamp"), table_name="error_logs")
    op.drop_index(op.f("ix_error_logs_correlation_id"), table_name="error_logs")
    op.drop_table("error_logs")
