"""The sweep report: a stored parameter sweep with its grid, the best point next to the number of points
tried and its deflated Sharpe ratio, every point's metrics, and the walk-forward windows when run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from workstation.reports.backtest import METRICS
from workstation.reports.document import Column, ColumnFormat, KeyValues, Paragraph, ReportDocument, Section, Table
from workstation.trading.backtest.sweep_store import load_sweep

_POINT_METRICS = (*METRICS, ("final_value", "Final value", "money"))


def build_sweep_report(engine: Engine, sweep_id: str, *, timezone: str = "UTC") -> ReportDocument:
    stored = load_sweep(engine, sweep_id)
    sweep, points = stored["sweep"], stored["points"]
    names = list((sweep.get("grid") or {}).keys())
    grid = ", ".join(f"{k} {min(v)}–{max(v)} ({len(v)} values)" for k, v in (sweep.get("grid") or {}).items())
    symbols = ", ".join(sweep.get("symbols") or [])
    fixed = ", ".join(f"{k}={v}" for k, v in sorted((sweep.get("parameters") or {}).items()) if k not in names)
    best = sweep.get("best_params") or {}
    best_metrics = sweep.get("best_metrics") or {}
    items: list[tuple[str, Any, ColumnFormat]] = [
        ("Points tried", sweep["points_tried"], "int"),
        ("Points skipped (invalid)", sweep["points_skipped"], "int"),
        ("Ranked by", sweep["metric"], "text"),
        ("Best point", " ".join(f"{k}={v}" for k, v in best.items()) or "—", "text"),
        ("Deflated Sharpe ratio of the best", sweep.get("deflated_sharpe"), "number"),
    ]
    items += [(f"Best: {label}", best_metrics.get(key), fmt) for key, label, fmt in _POINT_METRICS]
    columns = [Column(n, n, "int") for n in names] + [Column(k, label, fmt) for k, label, fmt in _POINT_METRICS]
    rows = [{**p["params"], **{k: p["metrics"].get(k) for k, _l, _f in _POINT_METRICS}} for p in points]
    sections = [
        Section(
            "Summary",
            [
                Paragraph(
                    f"Sweep of {sweep['strategy']} on {symbols} over {grid}"
                    + (f"; fixed: {fixed}" if fixed else "")
                    + ". The deflated Sharpe ratio is the probability that the best point's Sharpe ratio beats "
                    "the best of as many unskilled trials (Bailey and López de Prado, 2014)."
                ),
                KeyValues("Sweep", items),
            ],
        ),
        Section("Points", [Table("points", "Every grid point", columns, rows)]),
    ]
    walk = sweep.get("walk_forward")
    if walk:
        metric = walk["metric"]
        wf_columns = [
            Column("train", "Training window"),
            Column("test", "Test window"),
            Column("params", "Chosen"),
            Column("in_sample", f"In-sample {metric}", "number", 4),
            Column("out_of_sample", f"Out-of-sample {metric}", "number", 4),
            Column("oos_return", "Out-of-sample return", "percent"),
        ]
        wf_rows = [
            {
                "train": f"{w['train'][0][:10]} to {w['train'][1][:10]}",
                "test": f"{w['test'][0][:10]} to {w['test'][1][:10]}",
                "params": " ".join(f"{k}={v}" for k, v in w["params"].items()),
                "in_sample": w["in_sample"].get(metric),
                "out_of_sample": w["out_of_sample"].get(metric),
                "oos_return": w["out_of_sample"].get("total_return"),
            }
            for w in walk["windows"]
        ]
        summary = walk.get("summary") or {}
        sections.append(
            Section(
                "Walk-forward",
                [
                    Paragraph(
                        f"Training on {walk['train_bars']} bars, testing on the next {walk['test_bars']}; "
                        f"the best point by {metric} on each training window is reported on its test window."
                    ),
                    KeyValues(
                        "In-sample vs out-of-sample",
                        [(k.replace("_", " ").capitalize(), v, "number") for k, v in summary.items()],
                    ),
                    Table("walk_forward", "Windows", wf_columns, wf_rows),
                ],
            )
        )
    start, end = sweep.get("start"), sweep.get("end")
    span = f"{start:%Y-%m-%d} to {end:%Y-%m-%d}" if start and end else "the whole history"
    return ReportDocument(
        kind="sweep",
        title=f"Sweep {sweep_id}: {sweep['strategy']} on {symbols}",
        subtitle=f"Bars from {span}; stored {sweep['created_at']:%Y-%m-%d %H:%M} UTC",
        generated_at=datetime.now(UTC),
        timezone=timezone,
        sections=sections,
    )
