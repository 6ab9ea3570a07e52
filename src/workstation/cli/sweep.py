"""``workstation sweep``: backtest every point of a parameter grid in parallel, rank them, and store the sweep.

It takes every option of ``backtest`` (the same definitions and the same input loading), so each point
is the single backtest with those parameters; ``--grid`` names the swept ones (ranges inclusive; points
with fast ≥ slow skipped). ``--walk-forward TRAIN:TEST`` chooses the best point on each training window
and reports it on the window after.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from workstation.cli.backtest import _decimal, backtest_options, config_from_options, load_inputs
from workstation.cli.cluster import executor_for, scheduler_option
from workstation.cli.context import app_context
from workstation.cli.output import echo_json, echo_table
from workstation.cli.progress import progress_and_cancel
from workstation.cluster.connect import scheduler_address
from workstation.errors import ExitCode, InvalidInputError
from workstation.monitoring.correlation import correlation_scope

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from sqlalchemy import Engine

    from workstation.trading.backtest.sweep import SweepResult
    from workstation.trading.backtest.sweep_store import SweepRecord
    from workstation.trading.backtest.walkforward import WalkForwardResult

SHOWN_METRICS = ("total_return", "sharpe", "max_drawdown", "trades", "final_value")


@click.command("sweep")
@click.option("--strategy", type=click.Choice(["sma_cross"]), default="sma_cross", show_default=True)
@click.option("--grid", required=True, help="Parameters to sweep, ranges inclusive: fast=5:50:5,slow=20:200:10.")
@click.option("--symbols", help="Stored bars of these symbols (A,B,…); the same as --symbol A,B.")
@backtest_options
@click.option(
    "--metric",
    type=click.Choice(["sharpe", "sortino", "total_return", "cagr", "final_value", "profit_factor", "win_rate",
                       "max_drawdown"]),
    default="sharpe",
    show_default=True,
    help="Rank the points by this metric (max_drawdown: the lowest).",
)  # fmt: skip
@click.option("--walk-forward", "walk_forward", metavar="TRAIN:TEST", help="Walk forward in bars, e.g. 500:250.")
@click.option("--workers", type=click.IntRange(min=1), help="Local worker processes (default: one per core).")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, help="Points shown (not --json).")
@click.option("--no-save", is_flag=True, help="Do not store the sweep in the database.")
@scheduler_option
@click.option("--json", "as_json", is_flag=True, help='Print one JSON object: {"results": [{params, metrics}], …}.')
def command(**options: object) -> None:
    """Backtest every point of a parameter grid in parallel worker processes and rank them."""

    from workstation.trading.backtest.grid import parse_grid
    from workstation.trading.backtest.sweep import SweepSettings, run_sweep, shutdown_sweep_pool
    from workstation.trading.backtest.walkforward import WindowSpec, run_walk_forward

    o = dict(options)
    as_json = bool(o["as_json"])
    if o["symbols"]:
        if o["symbol"]:
            raise InvalidInputError("give --symbol or --symbols, not both")
        o["symbol"] = o["symbols"]
    strategy = str(o["strategy"])
    grid = parse_grid(str(o["grid"]), strategy, fixed={"fast": int(o["fast"]), "slow": int(o["slow"])})  # type: ignore[call-overload]
    spec = WindowSpec.parse(str(o["walk_forward"])) if o["walk_forward"] else None
    inputs = load_inputs(o)
    settings = SweepSettings(
        strategy=strategy, quantity=_positive(str(o["qty"]), "--qty"), config=config_from_options(o, inputs.source)
    )
    metric = str(o["metric"])
    local_pool: WarmPool | None = None
    if o["workers"]:
        if scheduler_address(o["scheduler"]) is not None:  # type: ignore[arg-type]
            raise InvalidInputError("--workers sets local processes: leave it out with --scheduler")
        from workstation.warm_pool import WarmPool

        # Workers of its own (warm_pool: they end with this process even when it is killed).
        local_pool = WarmPool(int(o["workers"]), "workstation.trading.backtest.sweep")  # type: ignore[call-overload]
    walk: WalkForwardResult | None = None
    try:
        with (
            executor_for(app_context().engine, o["scheduler"]) as cluster,  # type: ignore[arg-type]
            correlation_scope(prefix="cli"),
            progress_and_cancel("sweep", enabled=not as_json) as (progress, cancel),
        ):
            # On a cluster each chunk of points is a task on the workers (the bars travel with it).
            executor: Executor | None = cluster or (local_pool.get() if local_pool is not None else None)
            result = run_sweep(
                inputs.bars, grid.points, settings, metric=metric, executor=executor, progress=progress, cancel=cancel
            )
            result.skipped = grid.skipped
            if spec is not None:
                walk = run_walk_forward(
                    inputs.bars, grid.points, settings, spec, metric=metric, executor=executor,
                    progress=progress, cancel=cancel,
                )  # fmt: skip
    finally:
        if local_pool is not None:
            local_pool.shutdown()
        shutdown_sweep_pool()
    from workstation.trading.backtest.sweep_store import SweepRecord

    record = SweepRecord(
        strategy=strategy,
        axes=grid.axes,
        parameters=_fixed_parameters(o, settings),
        symbols=sorted(inputs.bars),
        start=min(f.index[0] for f in inputs.bars.values()).to_pydatetime(),
        end=max(f.index[-1] for f in inputs.bars.values()).to_pydatetime(),
    )
    if not o["no_save"]:
        _save(app_context().engine, record, result, walk)
    if as_json:
        echo_json(_as_json(result, grid.axes, walk))
    else:
        _print(result, int(o["top"]), walk)  # type: ignore[call-overload]
    if inputs.source is not None and inputs.source.summary.rejects:
        raise click.exceptions.Exit(ExitCode.REFUSED)


def _positive(text: str, name: str) -> Any:
    value = _decimal(text, name)
    if value <= 0:
        raise InvalidInputError(f"{name} must be positive, got {text!r}")
    return value


def _fixed_parameters(o: dict[str, object], settings: Any) -> dict[str, Any]:
    config = settings.config
    return {
        "qty": str(settings.quantity),
        "fast": o["fast"],
        "slow": o["slow"],
        "cash": str(config.cash),
        "commission_rate": str(config.commission.rate),
        "commission_per_share": str(config.commission.per_share),
        "commission_min": str(config.commission.minimum),
        "slippage_bps": str(config.slippage_bps),
        "max_volume_share": None if config.max_volume_share is None else str(config.max_volume_share),
        "interval": o["interval"] or ("detected" if o["csv_path"] else "1d"),
        "source": str(o["csv_path"]) if o["csv_path"] else "stored bars",
    }


def _as_json(result: SweepResult, axes: dict[str, tuple[int, ...]], walk: WalkForwardResult | None) -> dict[str, Any]:
    best = result.best
    out: dict[str, Any] = {
        "sweep_id": result.sweep_id,
        "grid": {k: list(v) for k, v in axes.items()},
        "metric": result.metric,
        "points_tried": result.tried,
        "points_skipped": result.skipped,
        "best": None
        if best is None
        else {"params": best.params, "metrics": best.metrics, "deflated_sharpe": result.deflated_sharpe()},
        "results": [p.as_json() for p in result.results],
    }
    if walk is not None:
        out["walk_forward"] = walk.as_json()
    return out


def _cell(value: float | None, key: str) -> str:
    if value is None:
        return ""
    if key in ("total_return", "max_drawdown"):
        return f"{value:.2%}"
    if key in ("trades",):
        return f"{value:.0f}"
    if key == "final_value":
        return f"{value:,.2f}"
    return f"{value:.4f}"


def _print(result: SweepResult, top: int, walk: WalkForwardResult | None) -> None:
    from workstation.trading.backtest.sweep import RANKING, metric_value

    higher = RANKING[result.metric]
    ranked = sorted(
        (p for p in result.results if metric_value(p, result.metric) is not None),
        key=lambda p: metric_value(p, result.metric) or 0.0,
        reverse=higher,
    )
    names = list(result.results[0].params) if result.results else []
    columns = dict.fromkeys((result.metric, *SHOWN_METRICS))
    rows = [(*(str(p.params[n]) for n in names), *(_cell(p.metrics.get(k), k) for k in columns)) for p in ranked[:top]]
    echo_table((*names, *columns), rows)
    best = result.best
    if best is None:
        click.echo(f"no point of {result.tried} produced a {result.metric}")
    else:
        chosen = " ".join(f"{k}={v}" for k, v in best.params.items())
        dsr = result.deflated_sharpe()
        click.echo(
            f"best of {result.tried} points tried ({result.skipped} skipped): {chosen}  "
            f"{result.metric} {_cell(best.metrics.get(result.metric), result.metric)}  "
            f"deflated Sharpe ratio {'n/a' if dsr is None else f'{dsr:.3f}'}"
        )
    if walk is not None:
        rows = [
            (
                f"{w.window.test_start:%Y-%m-%d}–{w.window.test_end:%Y-%m-%d}",
                " ".join(f"{k}={v}" for k, v in w.params.items()),
                _cell(w.in_sample.get(walk.metric), walk.metric),
                _cell(w.out_of_sample.get(walk.metric), walk.metric),
                _cell(w.out_of_sample.get("total_return"), "total_return"),
            )
            for w in walk.windows
        ]
        click.echo(f"walk-forward {walk.spec} (train:test bars), chosen by {walk.metric}:")
        echo_table(
            ("test window", "chosen", f"in-sample {walk.metric}", f"out-of-sample {walk.metric}", "oos return"), rows
        )
        summary = walk.summary()
        click.echo(
            f"mean {walk.metric}: in-sample {_cell(summary[f'in_sample_{walk.metric}'], walk.metric)}, "
            f"out-of-sample {_cell(summary[f'out_of_sample_{walk.metric}'], walk.metric)}"
        )
    if result.sweep_id:
        click.echo(f"stored as {result.sweep_id}")


def _save(engine: Engine, record: SweepRecord, result: SweepResult, walk: WalkForwardResult | None) -> None:
    from workstation.trading.backtest.sweep_store import save_sweep

    try:
        if not inspect(engine).has_table("backtest_sweeps"):
            click.echo("note: sweep not stored (run 'workstation db upgrade' first)", err=True)
            return
        save_sweep(engine, record, result, walk)
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", exc)).splitlines()[0]
        click.echo(f"note: sweep not stored: {first}", err=True)
