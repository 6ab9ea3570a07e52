"""The backtest report: a stored backtest run with its equity, drawdown, monthly returns, metrics,
trades, fills and the positions still open at the end."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from workstation.errors import RefusedError
from workstation.reports.benchmark import benchmark_for_run
from workstation.reports.document import Column, ColumnFormat, KeyValues, Paragraph, ReportDocument, Section, Table
from workstation.reports.holdings import Holding, replay, trade_rows
from workstation.reports.performance import performance_blocks
from workstation.trading.backtest.benchmark import BuyAndHold
from workstation.trading.backtest.store import list_backtests, load_backtest

BUY_AND_HOLD = "Buy and hold"
# The command that stores a backtest, as the CLI spells it (a test parses it against the real command).
BACKTEST_COMMAND = "workstation backtest --symbol SYMBOL"
HOW_TO_RUN_A_BACKTEST = f"run one with '{BACKTEST_COMMAND}' (stored bars) or with --csv FILE first"
# Metric key → (label, format) in the order a trader reads them.
METRICS: tuple[tuple[str, str, ColumnFormat], ...] = (
    ("total_return", "Total return", "percent"),
    ("cagr", "CAGR", "percent"),
    ("sharpe", "Sharpe ratio", "number"),
    ("sortino", "Sortino ratio", "number"),
    ("max_drawdown", "Max drawdown", "percent"),
    ("win_rate", "Win rate", "percent"),
    ("profit_factor", "Profit factor", "number"),
    ("exposure", "Exposure", "percent"),
    ("turnover", "Turnover (× mean equity)", "number"),
    ("commission", "Commission paid", "money"),
    ("trades", "Trades", "int"),
    ("fills", "Fills", "int"),
)

FILL_COLUMNS = [
    Column("timestamp", "Time", "datetime"),
    Column("symbol", "Symbol"),
    Column("side", "Side"),
    Column("quantity", "Quantity", "number", 0),
    Column("price", "Price", "money", 4),
    Column("commission", "Commission", "money"),
]
TRADE_COLUMNS = [
    Column("symbol", "Symbol"),
    Column("direction", "Direction"),
    Column("quantity", "Largest size", "number", 0),
    Column("open_quantity", "Still open", "number", 0),
    Column("entry_time", "Entry", "datetime"),
    Column("entry_price", "Entry price", "money", 4),
    Column("exit_time", "Exit", "datetime"),
    Column("exit_price", "Exit / mark", "money", 4),
    Column("pnl", "P&L (net)", "money"),
    Column("commission", "Commission", "money"),
    Column("status", "Status"),
]
POSITION_COLUMNS = [
    Column("symbol", "Symbol"),
    Column("quantity", "Quantity", "number", 0),
    Column("average_price", "Average price", "money", 4),
    Column("mark", "Last close", "money", 4),
    Column("unrealised_pnl", "Unrealised P&L", "money"),
]


def resolve_run_id(engine: Engine, backtest_id: str | None) -> str:
    if backtest_id:
        return backtest_id
    runs = list_backtests(engine, limit=1)
    if not runs:
        raise RefusedError(f"no stored backtest: {HOW_TO_RUN_A_BACKTEST}")
    return str(runs[0]["run_id"])


def _open_positions(trades: list[dict[str, Any]], holdings: dict[str, Holding]) -> list[dict[str, Any]]:
    """Positions at the end from the replayed fills, marked at the close their open trip was valued at."""
    rows = []
    for trade in trades:
        holding = holdings.get(str(trade["symbol"]))
        if not trade["is_open"] or holding is None or not holding.open_quantity:
            continue
        position = holding.position
        mark = holding.implied_mark(Decimal(trade["exit_price"]))
        rows.append(
            {
                "symbol": trade["symbol"],
                "quantity": position.quantity,
                "average_price": position.average_price,
                "mark": mark,
                "unrealised_pnl": (mark - position.average_price) * position.quantity if mark is not None else None,
            }
        )
    return sorted(rows, key=lambda r: str(r["symbol"]))


def build_backtest_report(engine: Engine, backtest_id: str | None = None, *, timezone: str = "UTC") -> ReportDocument:
    run_id = resolve_run_id(engine, backtest_id)
    stored = load_backtest(engine, run_id)
    run, equity = stored["run"], stored["equity"]
    metrics = run.get("metrics") or {}
    parameters = run.get("parameters") or {}
    symbols = ", ".join(run.get("symbols") or [])
    items: list[tuple[str, Any, ColumnFormat]] = [
        ("Initial cash", run["initial_cash"], "money"),
        ("Final value", run["final_value"], "money"),
        ("Final cash", run["final_cash"], "money"),
    ]
    items += [(label, metrics.get(key), fmt) for key, label, fmt in METRICS]
    benchmark = benchmark_for_run(engine, run, equity)
    if isinstance(benchmark, BuyAndHold):
        theirs: list[object] = [benchmark.initial_cash, benchmark.final_value, benchmark.final_cash]
        theirs += [benchmark.metrics.get(key) for key, _label, _fmt in METRICS]
        compared = [(label, (ours, other), fmt) for (label, ours, fmt), other in zip(items, theirs, strict=True)]
        summary = KeyValues("Metrics", compared, value_titles=("Strategy", BUY_AND_HOLD))
        about = Paragraph(
            f"Buy-and-hold: the same starting cash split equally across {symbols}, whole shares bought at the "
            "open of the first bar and held to the last close, no commission or slippage; its metrics use the "
            "same definitions as the strategy's."
        )
        performance = performance_blocks(equity, benchmark=benchmark.equity, benchmark_name=BUY_AND_HOLD)
    else:
        summary = KeyValues("Metrics", items)
        about = Paragraph(f"Buy-and-hold is not shown: {benchmark}.")
        performance = performance_blocks(equity)
    fills = sorted(stored["fills"], key=lambda f: (f["timestamp"], f["id"]))
    holdings = replay(fills)
    trades = trade_rows(sorted(stored["trades"], key=lambda t: t["entry_time"]), holdings)
    settings = ", ".join(f"{k}={v}" for k, v in sorted(parameters.items()))
    sections = [
        Section(
            "Summary",
            [
                Paragraph(f"Strategy {run['strategy']} on {symbols}" + (f" ({settings})" if settings else "") + "."),
                summary,
                about,
            ],
        ),
        Section("Performance", performance),
        Section("Trades", [Table("trades", "Round trips", TRADE_COLUMNS, trades)]),
        Section("Fills", [Table("fills", "Fills with commissions", FILL_COLUMNS, fills)]),
        Section(
            "Positions at the end",
            [
                Table(
                    "positions",
                    "Open positions, marked to the last close",
                    POSITION_COLUMNS,
                    _open_positions(trades, holdings),
                )
            ],
        ),
    ]
    start, end = run.get("start"), run.get("end")
    span = f"{start:%Y-%m-%d} to {end:%Y-%m-%d}" if start and end else "the whole history"
    return ReportDocument(
        kind="backtest",
        title=f"Backtest {run_id}: {run['strategy']} on {symbols}",
        subtitle=f"Bars from {span}; stored {run['created_at']:%Y-%m-%d %H:%M} UTC",
        generated_at=datetime.now(UTC),
        timezone=timezone,
        sections=sections,
    )
