"""The links an explanation shares between live and backtest orders: prediction, bars and origin.

Each look-up returns a JSON-ready dict (or None when the link does not apply or was not recorded):
values stay Decimal/datetime here and become text in ``Explanation.as_json``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from workstation.db.logs import UserActionLog
from workstation.db.market import MarketData
from workstation.db.trading import Model, Prediction
from workstation.ml.feature_stats import standout_features
from workstation.monitoring.redaction import redact_argv

STANDOUT_COUNT = 5


def parse_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def prediction_link(
    engine: Engine,
    *,
    prediction_id: str | None,
    model_id: str | None = None,
    symbol: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any] | None:
    """The stored prediction (by id; else the newest of ``model_id`` for ``symbol`` at or before ``at``),
    its model's id, version and type, the input vector and the inputs that stood out against the
    model's training data."""
    query = select(Prediction)
    if prediction_id:
        query = query.where(Prediction.prediction_id == prediction_id)
    elif model_id and symbol and at is not None:
        query = (
            query.where(Prediction.model_id == model_id, Prediction.symbol == symbol, Prediction.timestamp <= at)
            .order_by(Prediction.timestamp.desc(), Prediction.id.desc())
            .limit(1)
        )
    else:
        return None
    with engine.connect() as conn:
        row = conn.execute(query).first()
        if row is None:
            return None
        p = row._mapping
        model = conn.execute(select(Model).where(Model.model_id == p["model_id"])).first()
    model_row = model._mapping if model is not None else {}
    parameters = dict(model_row.get("parameters") or {})
    metrics = dict(model_row.get("metrics") or {})
    vector = dict(p["features"] or {})
    stats = parameters.get("feature_quantiles")
    return {
        "prediction_id": p["prediction_id"],
        "model_id": p["model_id"],
        "model_version": model_row.get("version"),
        "model_name": model_row.get("name"),
        "model_type": model_row.get("model_type"),
        "model_status": model_row.get("status"),
        "symbol": p["symbol"],
        "timestamp": p["timestamp"],
        "prediction_type": p["prediction_type"],
        "prediction_value": p["prediction_value"],
        "confidence": p["confidence"],
        "input_vector": vector,
        "standout_features": standout_features(
            vector, stats, metrics.get("feature_importance") or [], top=STANDOUT_COUNT
        ),
        # Without stored training quantiles (a model trained before they were kept) no percentile is given.
        "training_statistics": None
        if not stats
        else {"rows": stats.get("rows"), "levels": len(stats.get("levels") or []), "source": "final fit rows"},
    }


def stored_bar(engine: Engine, symbol: str, interval: str | None, at: datetime, role: str) -> dict[str, Any]:
    """The market_data bar at ``at`` (any source; the most complete first), or the bare reference when absent."""
    bar: dict[str, Any] = {"role": role, "symbol": symbol, "interval": interval, "timestamp": at, "stored": False}
    if not interval:
        return bar
    query = select(
        MarketData.open, MarketData.high, MarketData.low, MarketData.close, MarketData.volume, MarketData.source
    ).where(MarketData.symbol == symbol, MarketData.interval == interval, MarketData.timestamp == at)
    with engine.connect() as conn:
        row = conn.execute(query.order_by(MarketData.volume.desc()).limit(1)).first()
    if row is not None:
        bar |= {
            "open": row.open,
            "high": row.high,
            "low": row.low,
            "close": row.close,
            "volume": row.volume,
            "source": row.source,
            "stored": True,
        }
    return bar


def action_origin(engine: Engine, correlation_id: str | None) -> dict[str, Any] | None:
    """The user action recorded under ``correlation_id``: a click in the window or a command line."""
    if not correlation_id:
        return None
    query = (
        select(UserActionLog)
        .where(UserActionLog.correlation_id == correlation_id)
        .order_by(UserActionLog.timestamp, UserActionLog.id)
        .limit(1)
    )
    with Session(engine) as session:
        action = session.execute(query).scalar()
    if action is None:
        # The CLI's own rows carry the id as their session id (one per invocation).
        fallback = (
            select(UserActionLog)
            .where(UserActionLog.session_id == correlation_id, UserActionLog.action_type == "cli_command")
            .limit(1)
        )
        with Session(engine) as session:
            action = session.execute(fallback).scalar()
    if action is None:
        return None
    metadata = dict(action.metadata_ or {})
    base = {
        "correlation_id": correlation_id,
        "timestamp": action.timestamp,
        "user_id": action.user_id,
        "session_id": action.session_id,
        "status": action.response_status,
    }
    if action.action_type == "cli_command":
        argv = redact_argv(str(a) for a in metadata.get("argv") or [])
        return base | {
            "kind": "command",
            "command": action.request_path,
            "argv": argv,
            "command_line": " ".join(["workstation", *argv]),
        }
    return base | {"kind": "click", "action": action.request_path, "details": metadata or None}
