"""The parts an explanation is made of: the recorded risk verdict, redacted command lines, percentiles."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from workstation.ml.feature_stats import percentile, standout_features, training_quantiles
from workstation.monitoring.redaction import redact_argv
from workstation.trading.domain import OrderRequest
from workstation.trading.risk import RiskEngine, RiskLimits, RiskSnapshot

NOW = datetime(2024, 3, 4, 15, tzinfo=UTC)


def _snapshot(position: str = "0") -> RiskSnapshot:
    return RiskSnapshot(Decimal(position), Decimal(0), Decimal(100), Decimal(0), Decimal(0), NOW)


def test_the_risk_record_names_the_rules_run_their_inputs_and_the_first_broken_rule() -> None:
    risk = RiskEngine(RiskLimits(max_order_quantity=Decimal(50), max_position_quantity=Decimal(80)))
    buy = OrderRequest("AAPL", "buy", Decimal(60))
    verdict = risk.check(buy, _snapshot())
    record = risk.record(buy, _snapshot(), verdict)
    assert (record["outcome"], record["rule"]) == ("rejected", "max_order_quantity")
    assert record["rules_checked"] == ["max_order_quantity"]  # the first broken rule stops the checks
    assert record["inputs"]["last_price"] == Decimal(100)
    passed = risk.record(OrderRequest("AAPL", "buy", Decimal(10)), _snapshot(), None)
    assert passed["outcome"] == "passed"
    assert passed["rules_checked"] == ["max_order_quantity", "halted", "max_position"]
    assert passed["limits"] == {"max_order_quantity": Decimal(50), "max_position_quantity": Decimal(80)}
    # An exit skips the exposure rules (blocking it would increase risk).
    exit_record = risk.record(OrderRequest("AAPL", "sell", Decimal(10)), _snapshot("10"), None)
    assert exit_record["reduces_position"] is True and exit_record["rules_checked"] == ["max_order_quantity"]


def test_a_stored_command_line_hides_secret_options_and_url_passwords() -> None:
    argv = ["--database-url", "postgresql://me:hunter22@db/ws", "orders", "submit", "--api-key", "AKXYZ123",
            "--secret=abcdef", "--symbol", "AAPL"]  # fmt: skip
    assert redact_argv(argv) == [
        "--database-url", "postgresql://me:***@db/ws", "orders", "submit", "--api-key", "***",
        "--secret=***", "--symbol", "AAPL",
    ]  # fmt: skip


def test_percentiles_on_the_stored_curve() -> None:
    values = np.arange(1001, dtype=np.float64).reshape(-1, 1)
    stats = training_quantiles(values, ["x"])
    levels, curve = stats["levels"], stats["features"]["x"]
    assert [percentile(v, levels, curve) for v in (-5.0, 0.0, 500.0, 512.5, 1000.0, 1e9)] == [
        0.0, 0.0, 50.0, 51.25, 100.0, 100.0,
    ]  # fmt: skip
    assert percentile(1.0, [0.0, 0.5, 1.0], [1.0, 1.0, 2.0]) == 25.0  # a tie takes the middle of its levels
    assert percentile(float("nan"), levels, curve) is None
    constant = training_quantiles(np.array([[np.nan], [np.nan]]), ["y"])
    assert constant["features"]["y"] is None
    top = standout_features({"x": 999.0, "z": 3.0, "bars": ["2024-03-04"]}, stats)
    assert [(t["feature"], t["percentile"]) for t in top] == [("x", pytest.approx(99.9)), ("z", None)]
