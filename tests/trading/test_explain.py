"""``workstation explain`` through the installed command: a manual order, a strategy order and a backtest fill."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import numpy as np
from helpers import T0, seed_bars
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workstation.db.trading import Model, Prediction
from workstation.ml.feature_stats import training_quantiles

DAY = timedelta(days=1)
KEYS = {"order", "fills", "risk", "signal", "prediction", "bars", "origin"}
Cli = Callable[..., subprocess.CompletedProcess[str]]


def _model_with_training_statistics(engine: Engine) -> None:
    """A registered model whose training rows were rsi_14 ~ U(20, 80) and ret_1 ~ N(0, 0.01)."""
    rng = np.random.default_rng(7)
    training = np.column_stack([rng.uniform(20, 80, 2_000), rng.normal(0, 0.01, 2_000)])
    parameters = {
        "features": ["rsi_14", "ret_1"],
        "feature_quantiles": training_quantiles(training, ["rsi_14", "ret_1"]),
    }
    with Session(engine) as session, session.begin():
        session.add(
            Model(model_id="rf_direction_1d_v3", name="RandomForest price_direction 1d h1", version="3",
                  model_type="RandomForest", parameters=parameters,
                  metrics={"feature_importance": [{"feature": "ret_1"}, {"feature": "rsi_14"}]})
        )  # fmt: skip


def _predict(engine: Engine, day: int, value: str, confidence: str, rsi: float, ret: float) -> None:
    with Session(engine) as session, session.begin():
        when = T0 + day * DAY
        session.add(
            Prediction(
                prediction_id=f"rf_direction_1d_v3:AAPL:{when.isoformat()}:price_direction",
                model_id="rf_direction_1d_v3", symbol="AAPL", timestamp=when, prediction_type="price_direction",
                prediction_value=Decimal(value), confidence=Decimal(confidence),
                features={"rsi_14": rsi, "ret_1": ret},
            )
        )  # fmt: skip


def _seed_strategy(engine: Engine) -> None:
    seed_bars(engine, "AAPL", [100.0 + i for i in range(10)])
    _model_with_training_statistics(engine)
    _predict(engine, 2, "0.9", "0.9", rsi=79.5, ret=0.0001)  # rsi at the top of its training range
    _predict(engine, 6, "-1", "0.8", rsi=50.0, ret=-0.03)  # a return three deviations below the training mean


def _explain(cli: Cli, db_url: str, trade_id: str) -> dict[str, object]:
    done = cli("--database-url", db_url, "explain", trade_id, "--json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert set(payload) == KEYS
    return payload  # type: ignore[no-any-return]


def test_manual_order_from_the_command_line(engine: Engine, db_url: str, workstation_cli: Cli) -> None:
    seed_bars(engine, "AAPL", [100.0 + i for i in range(5)])
    placed = workstation_cli(
        "--database-url", db_url, "orders", "submit", "--symbol", "AAPL", "--side", "buy", "--qty", "5", "--json"
    )
    assert placed.returncode == 0, placed.stderr
    order = json.loads(placed.stdout)
    payload = _explain(workstation_cli, db_url, order["order_id"])
    explained = payload["order"]
    assert isinstance(explained, dict)
    assert explained["client_order_id"] == order["order_id"]
    assert explained["broker_order_id"] == order["broker_order_id"]
    changes = [(c["event_type"], c["status"]) for c in explained["state_changes"]]
    assert changes[0] == ("order_placed", "pending") and changes[-1] == ("order_filled", "filled")
    assert all(c["timestamp"] for c in explained["state_changes"])
    fills = payload["fills"]
    assert isinstance(fills, list) and len(fills) == 1 and Decimal(fills[0]["quantity"]) == 5
    risk = payload["risk"]
    assert isinstance(risk, dict) and risk["outcome"] == "passed" and "position_quantity" in risk["inputs"]
    assert payload["signal"] is None and payload["prediction"] is None and payload["bars"] is None
    origin = payload["origin"]
    assert isinstance(origin, dict) and origin["kind"] == "command"
    assert origin["argv"][-9:] == ["orders", "submit", "--symbol", "AAPL", "--side", "buy", "--qty", "5", "--json"]
    # The same chain from the fill id and from the broker's id; the human form names the command line.
    assert _explain(workstation_cli, db_url, fills[0]["fill_id"])["order"]["order_id"] == order["order_id"]  # type: ignore[index]
    text = workstation_cli("--database-url", db_url, "explain", order["broker_order_id"])
    assert text.returncode == 0, text.stderr
    assert "Origin: command line" in text.stdout and "orders submit --symbol AAPL" in text.stdout
    assert "order_placed → pending" in text.stdout and "Signal: none" in text.stdout


def test_unknown_id_is_one_line_and_exit_code_2(db_url: str, workstation_cli: Cli) -> None:
    done = workstation_cli("--database-url", db_url, "explain", "ws-nothing")
    assert done.returncode == 2
    assert done.stderr.strip() == "error: no order or fill with id 'ws-nothing'"
    as_json = workstation_cli("--database-url", db_url, "explain", "ws-nothing", "--json")
    assert as_json.returncode == 2 and json.loads(as_json.stdout)["exit_code"] == 2


def test_strategy_order_from_a_replay(engine: Engine, db_url: str, workstation_cli: Cli) -> None:
    _seed_strategy(engine)
    run = workstation_cli(
        "--database-url", db_url, "trade", "run", "--model-id", "rf_direction_1d_v3", "--symbols", "AAPL",
        "--qty", "5", "--replay", "2024-03-04", "2024-03-20", "--json",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    outcomes = [json.loads(chunk) for chunk in run.stdout.replace("}\n{", "}\x00{").split("\x00")]
    orders = [o for x in outcomes for o in x["orders"]]
    assert [(o["side"], o["status"]) for o in orders] == [("buy", "filled"), ("sell", "filled")]
    payload = _explain(workstation_cli, db_url, orders[0]["order_id"])
    signal, prediction, bars, origin = payload["signal"], payload["prediction"], payload["bars"], payload["origin"]
    assert isinstance(signal, dict) and signal["prediction_id"].startswith("rf_direction_1d_v3:AAPL:2024-03-06")
    assert isinstance(prediction, dict)
    assert (prediction["model_id"], prediction["model_version"]) == ("rf_direction_1d_v3", "3")
    assert Decimal(prediction["confidence"]) == Decimal("0.9")
    assert prediction["input_vector"] == {"rsi_14": 79.5, "ret_1": 0.0001}
    top = prediction["standout_features"][0]
    assert top["feature"] == "rsi_14" and 98.0 <= top["percentile"] <= 100.0
    assert isinstance(bars, list) and bars[0]["role"] == "decision" and bars[0]["stored"] is True
    assert bars[0]["timestamp"].startswith("2024-03-06") and bars[0]["interval"] == "1d"
    assert Decimal(bars[0]["close"]) == Decimal(102)
    assert isinstance(origin, dict) and origin["kind"] == "bar" and origin["timestamp"].startswith("2024-03-06")
    exit_payload = _explain(workstation_cli, db_url, orders[1]["order_id"])
    standout = exit_payload["prediction"]["standout_features"]  # type: ignore[index]
    assert standout[0]["feature"] == "ret_1" and standout[0]["percentile"] < 1.0
    text = workstation_cli("--database-url", db_url, "explain", orders[0]["order_id"])
    assert "model rf_direction_1d_v3 version 3" in text.stdout and "rsi_14 = 79.5" in text.stdout
    assert "Origin: the AAPL 1d bar of 2024-03-06" in text.stdout


def test_backtest_fill(engine: Engine, db_url: str, workstation_cli: Cli) -> None:
    _seed_strategy(engine)
    run = workstation_cli(
        "--database-url", db_url, "backtest", "--strategy", "model", "--model-id", "rf_direction_1d_v3",
        "--symbol", "AAPL", "--qty", "10", "--threshold", "0.55", "--json",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    fill = result["fills"][0]
    payload = _explain(workstation_cli, db_url, f"{result['run_id']}:{fill['fill_id']}")
    order = payload["order"]
    assert isinstance(order, dict)
    assert (order["run_id"], order["order_id"], order["side"]) == (result["run_id"], fill["order_id"], "buy")
    assert [c["event_type"] for c in order["state_changes"]] == ["order_placed", "order_accepted", "order_filled"]
    assert [f["fill_id"] for f in payload["fills"]] == [fill["fill_id"]]  # type: ignore[union-attr]
    assert payload["risk"]["outcome"] == "passed"  # type: ignore[index]
    signal, prediction, bars, origin = payload["signal"], payload["prediction"], payload["bars"], payload["origin"]
    assert isinstance(signal, dict) and signal["kind"] == "prediction" and signal["bar"].startswith("2024-03-06")
    assert isinstance(prediction, dict) and prediction["model_version"] == "3"
    assert prediction["standout_features"][0]["feature"] == "rsi_14"
    assert isinstance(bars, list) and bars[0]["timestamp"].startswith("2024-03-06") and Decimal(bars[0]["close"]) == 102
    assert isinstance(origin, dict) and origin["kind"] == "bar" and origin["run_id"] == result["run_id"]
    started = origin["run_started_by"]
    assert started["kind"] == "command" and "backtest" in started["argv"]
    # The fill id alone is enough while one run holds it.
    assert _explain(workstation_cli, db_url, fill["fill_id"])["order"]["run_id"] == result["run_id"]  # type: ignore[index]
