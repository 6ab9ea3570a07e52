"""``workstation backtest``: run a strategy over stored bars or a CSV file (read as ``ingest csv`` reads it,
in memory) and store the result."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import pandas as pd
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from workstation.cli.context import app_context
from workstation.cli.ingest import csv_format_options
from workstation.cli.output import echo_json, echo_table
from workstation.cli.progress import progress_and_cancel
from workstation.errors import ExitCode, InvalidInputError, RefusedError
from workstation.monitoring.correlation import correlation_scope

if TYPE_CHECKING:
    from workstation.market.ingest import IngestSummary
    from workstation.trading.backtest.engine import BacktestConfig
    from workstation.trading.backtest.inputs import CsvBars

EXCHANGE_TZ = "America/New_York"


def _decimal(value: str, name: str) -> Decimal:
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise InvalidInputError(f"{name} must be a number, got {value!r}") from None
    if not result.is_finite() or result < 0:
        raise InvalidInputError(f"{name} must be a non-negative number, got {value!r}")
    return result


def _date(value: str | None, name: str) -> datetime | None:
    """A date or ISO time, UTC when it names no zone (``trade run --replay`` parses its range with this)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(f"{name} must be a date like 2014-01-31, got {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _when(value: str | None, name: str, *, end_of_day: bool = False) -> datetime | None:
    """A date (or ISO time) in exchange time: --start D is that day's first bar, --end D its last."""
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except ValueError:
        raise InvalidInputError(f"{name} must be a date like 2014-01-31, got {value!r}") from None
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(EXCHANGE_TZ)
    if end_of_day and len(value.strip()) <= len("2014-01-31"):  # a whole day, inclusive
        stamp = stamp + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    return stamp.tz_convert("UTC").to_pydatetime()


def backtest_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The inputs, costs and strategy settings of a backtest (``backtest`` and ``sweep`` share them)."""
    for decorator in reversed(_BACKTEST_OPTIONS):
        command = decorator(command)
    return command


_BACKTEST_OPTIONS: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
    click.option(
        "--symbol",
        help="Stored bars of this symbol (comma-separate several); with --csv: the file's series (its name, or the "
        "one to pick from a file with a symbol column).",
    ),
    click.option(
        "--csv",
        "csv_path",
        type=click.Path(path_type=Path),
        help="Backtest a bar CSV file, read in memory as ingest csv.",
    ),
    click.option("--interval", help="Bar interval (stored bars: default 1d; --csv: detected)."),
    csv_format_options,
    click.option("--strict", is_flag=True, help="--csv: refuse to run when any row of the file is rejected."),
    click.option("--fast", type=int, default=15, show_default=True, help="sma_cross: fast SMA period."),
    click.option("--slow", type=int, default=30, show_default=True, help="sma_cross: slow SMA period."),
    click.option(
        "--qty", default="1000", show_default=True, help="Shares per entry (sma_cross; model with fixed_shares)."
    ),
    click.option("--cash", default="100000", show_default=True, help="Starting cash."),
    click.option("--commission-rate", default="0", show_default=True, help="Commission as a fraction of traded value."),
    click.option("--commission-per-share", default="0", show_default=True, help="Commission per share."),
    click.option("--commission-min", default="0", show_default=True, help="Minimum commission per fill."),
    click.option("--slippage-bps", default="0", show_default=True, help="Slippage in basis points on market fills."),
    click.option("--max-volume-share", default=None, help="Fill at most this share of each bar's volume (e.g. 0.1)."),
    click.option("--model-id", help="model: the model whose stored predictions drive the strategy."),
    click.option("--threshold", default="0.55", show_default=True, help="model: confidence needed to enter."),
    click.option("--exit-threshold", default="0.5", show_default=True, help="model: exit when confidence drops below."),
    click.option(
        "--sizing",
        type=click.Choice(["fixed_shares", "fixed_notional", "volatility"]),
        default="fixed_shares",
        show_default=True,
    ),
    click.option(
        "--notional", default="10000", show_default=True, help="model: notional per position (fixed_notional)."
    ),
    click.option(
        "--target-vol", type=float, default=0.15, show_default=True, help="model: annualised target volatility."
    ),
    click.option("--start", help="First date (inclusive)."),
    click.option("--end", help="Last date (inclusive)."),
]


@click.command("backtest")
@click.option("--strategy", type=click.Choice(["sma_cross", "model"]), default="sma_cross", show_default=True)
@backtest_options
@click.option("--no-save", is_flag=True, help="Do not store the result in the database.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def command(**options: object) -> None:
    """Backtest a strategy through the order manager, risk checks and paper broker."""
    from workstation.trading.backtest.engine import run_backtest
    from workstation.trading.strategies.model import ModelStrategy, ModelStrategyConfig, load_predictions
    from workstation.trading.strategies.sma_cross import SmaCross

    o = options
    as_json = bool(o["as_json"])
    inputs = load_inputs(o)
    ctx = app_context()
    bars, source, start, end, interval = inputs.bars, inputs.source, inputs.start, inputs.end, inputs.interval
    qty = _decimal(str(o["qty"]), "--qty")
    if o["strategy"] == "sma_cross":
        strategy: SmaCross | ModelStrategy = SmaCross(int(o["fast"]), int(o["slow"]), qty)  # type: ignore[call-overload]
    else:
        if not o["model_id"]:
            raise InvalidInputError("--strategy model needs --model-id")
        config = ModelStrategyConfig(
            model_id=str(o["model_id"]),
            entry_threshold=_decimal(str(o["threshold"]), "--threshold"),
            exit_threshold=_decimal(str(o["exit_threshold"]), "--exit-threshold"),
            sizing=o["sizing"],  # type: ignore[arg-type]
            shares=qty,
            notional=_decimal(str(o["notional"]), "--notional"),
            target_volatility=float(o["target_vol"]),  # type: ignore[arg-type]
        )
        predictions = load_predictions(ctx.engine, config.model_id, list(bars), start=start, end=end)
        if not any(len(p) for p in predictions.values()):
            raise RefusedError(f"model {config.model_id} has no stored predictions for {', '.join(bars)}")
        strategy = ModelStrategy(config, predictions)
    backtest_config = config_from_options(o, source)
    with correlation_scope(prefix="cli"), progress_and_cancel("backtest", enabled=not as_json) as (progress, cancel):
        result = run_backtest(bars, strategy, backtest_config, progress=progress, cancel=cancel)
        if not o["no_save"]:
            _save(ctx.engine, result, o["model_id"], interval)  # type: ignore[arg-type]
    if as_json:
        echo_json(result.as_json() | ({"input": _input_json(source.summary)} if source is not None else {}))
    else:
        click.echo(f"{result.strategy} {result.parameters} on {', '.join(result.symbols)}")
        click.echo(
            f"final value {result.final_value:,.2f}  cash {result.final_cash:,.2f}  return {result.total_return:.2%}"
        )
        rows = [(k, "" if v is None else f"{v:.4f}") for k, v in result.metrics.items()]
        echo_table(("metric", "value"), rows)
        if result.run_id:
            click.echo(f"stored as {result.run_id}")
    if source is not None and source.summary.rejects:  # ran on the good rows only: partial
        raise click.exceptions.Exit(ExitCode.REFUSED)


@dataclass
class BacktestInputs:
    """The bars a backtest (or each point of a sweep) trades, and the file summary when read from --csv."""

    bars: dict[str, pd.DataFrame]
    source: CsvBars | None
    start: datetime | None
    end: datetime | None
    interval: str | None  # the bars' interval (stored: --interval or 1d; a file: as detected)


def load_inputs(o: Mapping[str, object]) -> BacktestInputs:
    """--symbol (stored bars) or --csv PATH within --start/--end: the one way both commands read their bars."""
    from workstation.trading.backtest.inputs import stored_bars

    start, end = _when(o["start"], "--start"), _when(o["end"], "--end", end_of_day=True)  # type: ignore[arg-type]
    if o["symbol"] is None and o["csv_path"] is None:
        raise InvalidInputError("give --symbol SYM (stored bars) or --csv PATH")
    if o["csv_path"] is not None:
        source = _read_csv(o, start, end)
        return BacktestInputs(source.bars, source, start, end, source.summary.interval)
    engine = app_context().engine
    symbols = [s.strip().upper() for s in str(o["symbol"]).split(",") if s.strip()]
    interval = str(o["interval"] or "1d")
    return BacktestInputs(
        {s: stored_bars(engine, s, interval, start=start, end=end) for s in symbols}, None, start, end, interval
    )


def config_from_options(o: Mapping[str, object], source: CsvBars | None) -> BacktestConfig:
    """Cash, commission model, slippage and volume cap from the options (checked: exit 2 on a bad number)."""
    from workstation.trading.backtest.engine import BacktestConfig
    from workstation.trading.brokers.paper import CommissionModel

    max_share = o["max_volume_share"]
    if max_share is not None and source is not None and source.summary.no_volume:
        raise InvalidInputError("--max-volume-share needs volume, and the file has none (--no-volume)")
    return BacktestConfig(
        cash=_decimal(str(o["cash"]), "--cash"),
        commission=CommissionModel(
            per_share=_decimal(str(o["commission_per_share"]), "--commission-per-share"),
            rate=_decimal(str(o["commission_rate"]), "--commission-rate"),
            minimum=_decimal(str(o["commission_min"]), "--commission-min"),
        ),
        slippage_bps=_decimal(str(o["slippage_bps"]), "--slippage-bps"),
        max_volume_share=_decimal(str(max_share), "--max-volume-share") if max_share is not None else None,
    )


def _read_csv(o: Mapping[str, object], start: datetime | None, end: datetime | None) -> CsvBars:
    """--csv PATH through the ingest reader, in memory; rejected rows and split decisions on stderr."""
    from workstation.cli.ingest import MAX_REJECTS_SHOWN, check_tz, csv_format, parse_columns
    from workstation.trading.backtest.inputs import csv_bars

    path = o["csv_path"]
    assert isinstance(path, Path)
    symbol = str(o["symbol"]).strip().upper() if o["symbol"] else None
    if symbol and "," in symbol:
        raise InvalidInputError("with --csv, --symbol names one series")
    tz = o["tz"]
    check_tz(tz)  # type: ignore[arg-type]
    source = csv_bars(
        path, symbol=symbol, interval=o["interval"], tz=tz, columns=parse_columns(o["columns"]),  # type: ignore[arg-type]
        fmt=csv_format(o["delimiter"], o["decimal"], o["dayfirst"]),  # type: ignore[arg-type]
        no_volume=bool(o["no_volume"]), start=start, end=end,
    )  # fmt: skip
    summary = source.summary
    if not o["as_json"]:
        for reject in summary.rejects[:MAX_REJECTS_SHOWN]:
            click.echo(f"rejected row {reject.row} ({reject.symbol or '?'}): {reject.reason}", err=True)
        for name, entry in sorted(summary.symbols.items()):
            if entry.adjustment != "none":
                click.echo(f"{name}: {entry.adjustment}", err=True)
    if summary.rejects and o["strict"]:
        raise RefusedError(f"{path.name}: {summary.rejected} rows rejected; nothing run (--strict)")
    if summary.rejects:
        click.echo(f"{summary.rejected} rows of {path.name} rejected; backtesting the others", err=True)
    return source


def _input_json(summary: IngestSummary) -> dict[str, object]:
    return {
        "rejected": summary.rejected,
        "rejects": [r.to_dict() for r in summary.rejects],
        "adjustment": {s: v.adjustment for s, v in sorted(summary.symbols.items())},
        "interval": summary.interval,
        "no_volume": summary.no_volume,
    }


def _save(engine: object, result: object, model_id: str | None, interval: str | None) -> None:
    from sqlalchemy import Engine

    from workstation.trading.backtest.engine import BacktestResult
    from workstation.trading.backtest.store import save_backtest

    assert isinstance(engine, Engine)
    assert isinstance(result, BacktestResult)
    try:
        if not inspect(engine).has_table("backtest_runs"):
            click.echo("note: result not stored (run 'workstation db upgrade' first)", err=True)
            return
        save_backtest(engine, result, model_id=model_id, interval=interval)
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", exc)).splitlines()[0]
        click.echo(f"note: result not stored: {first}", err=True)
        sys.stderr.flush()
